import type { Control } from '../../protocol/controls.js';
import type {
  NodeName,
  PipelineMode,
  RuntimeEventBody,
  TurnTiming,
} from '../../protocol/events.js';
import type { ModelClient } from '../llm/types.js';
import { perceive } from './nodes/input.js';
import type { NodeEnv, Turn } from './nodes/node-env.js';
import { speak } from './nodes/output.js';
import { latency, think, type ThinkInput } from './nodes/thinker.js';

export interface PipelineInput {
  turn: string;
  mode: PipelineMode;
  tools: 'native' | 'fenced';
  history: readonly Turn[];
  identity: string;
  channel: string;
  /** Shared memory and the sensor digest, rendered for prompts. */
  context: string;
  model: ModelClient;
  models: Record<NodeName, string>;
  budgets: Record<NodeName, number>;
  signal: AbortSignal;
  emit(node: NodeName, body: RuntimeEventBody): void;
  runCode: ThinkInput['runCode'];
  /** Editor context attached to this message: the Thinker's prompt holds it. */
  attached?: ThinkInput['attached'];
  /** Paths of the files this session's code runs may read, at shared/<path>. */
  sharedFiles?: ThinkInput['sharedFiles'];
  now(): number;
}

export interface PipelineOutput {
  text: string;
  controls: Control[];
  processes: string[];
  timing: TurnTiming;
  /**
   * Work of this turn that its reply does not wait for (fast mode: the Input node's
   * perception, for the HUD). Settles, never rejects; the memorizer runs after it.
   */
  after: Promise<void>;
}

/**
 * Runs Input → Thinker → Output for one message.
 *
 * faithful: the prototype's order; three model round trips before the first token.
 * fast: the Thinker's reply streams straight to the user (one round trip before the first
 * token on a direct reply); the Input node perceives while the reply streams, and the turn
 * ends with the last token, not with the perception (`after`). Both modes emit the same
 * node events.
 */
export async function runPipeline(p: PipelineInput): Promise<PipelineOutput> {
  const started = p.now();
  let modelCalls = 0;
  let callsBeforeFirstToken = 0;
  let firstTokenAt: number | null = null;
  let streamed = '';

  /** Runs one node; its failure is reported on that node's HUD before it ends the turn. */
  const guard = async <T>(node: NodeName, work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (err) {
      if (!p.signal.aborted) {
        p.emit(node, { type: 'node.error', code: codeOf(err), message: messageOf(err) });
        throw new NodeFailure(node, err);
      }
      throw err;
    }
  };
  const env = (node: NodeName): NodeEnv => ({
    node,
    model: p.model,
    modelName: p.models[node],
    budget: p.budgets[node],
    signal: p.signal,
    emit: (body) => p.emit(node, body),
    onModelCall: () => {
      modelCalls++;
      if (firstTokenAt === null) callsBeforeFirstToken++;
    },
    now: p.now,
  });
  const deliver = (text: string) => {
    if (!text) return;
    if (firstTokenAt === null) {
      firstTokenAt = p.now();
      onFirstToken?.();
    }
    streamed += text;
    p.emit('output', { type: 'output.delta', text });
  };
  let onFirstToken: (() => void) | undefined;
  const perceiveInput = {
    history: p.history,
    identity: p.identity,
    channel: p.channel,
    context: p.context,
  };

  let text: string;
  let thought;
  let after: Promise<void> = Promise.resolve();
  if (p.mode === 'faithful') {
    const perception = await guard('input', perceive(env('input'), perceiveInput));
    thought = await guard('thinker', think(env('thinker'), { ...base(p), perception }));
    text = await guard(
      'output',
      speak(env('output'), {
        history: p.history,
        perception,
        thought: thought.text,
        context: p.context,
        onDelta: deliver,
      }),
    );
  } else {
    // The perception is not needed for the reply, so it starts once the first token is out
    // (or the Thinker is done, if nothing streamed) and overlaps the rest of the stream.
    let perception: Promise<string> | undefined;
    const startPerception = () => {
      perception ??= perceive(env('input'), perceiveInput).catch((err: unknown) => {
        p.emit('input', { type: 'node.error', code: codeOf(err), message: messageOf(err) });
        return '';
      });
    };
    const output = env('output');
    const outputStarted = p.now();
    onFirstToken = () => {
      output.emit({ type: 'node.streaming' });
      startPerception();
    };
    thought = await guard('thinker', think(env('thinker'), { ...base(p), onDelta: deliver }));
    startPerception();
    text = streamed || thought.text;
    if (!streamed) deliver(text);
    // The reply is the Thinker's stream: its latency leaves out the same approval waits.
    output.emit({
      type: 'node.done',
      ...latency(p.now() - outputStarted, thought.approvalWaitMs),
      model: p.models.thinker,
    });
    after = (perception ?? Promise.resolve('')).then(
      () => undefined,
      () => undefined,
    );
  }
  return {
    text: text.trim(),
    controls: thought.controls,
    processes: thought.processes,
    timing: {
      firstTokenMs: firstTokenAt === null ? null : firstTokenAt - started,
      totalMs: p.now() - started,
      callsBeforeFirstToken,
      modelCalls,
    },
    after,
  };
}

function base(p: PipelineInput) {
  return {
    history: p.history,
    context: p.context,
    tools: p.tools,
    runCode: p.runCode,
    ...(p.attached?.length ? { attached: p.attached } : {}),
    ...(p.sharedFiles?.length ? { sharedFiles: p.sharedFiles } : {}),
  };
}

/**
 * A node's failure, already reported on that node's HUD: the turn ends with it and does
 * not report it again. The original error is `cause`. Check `code`, not instanceof.
 */
export class NodeFailure extends Error {
  override readonly name = 'NodeFailure';
  readonly code = 'node_failed';
  constructor(
    readonly node: NodeName,
    override readonly cause: unknown,
  ) {
    super(messageOf(cause));
  }
}

/** The error behind a NodeFailure, or the error itself. */
export function causeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code === 'node_failed'
    ? (err as NodeFailure).cause
    : err;
}

export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'internal';
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
