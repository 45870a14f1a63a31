import type { Action } from '../../protocol/controls.js';
import type { EventDraft, ModelInfo, NodeName } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import type { ModelClient } from '../llm/types.js';
import type { ProcessManager } from '../tools/types.js';
import { RuntimeError } from './errors.js';
import { diffMemory, distill, MemoryParseError, renderMemory } from './nodes/memorizer.js';
import { codeOf, messageOf, runPipeline, type TurnResult } from './pipeline.js';
import type { Sensor } from './sensor.js';
import type { Session } from './session.js';

export interface SendOptions {
  /** Where the message came from, for the Input node ("terminal", "mcp", …). */
  channel?: string;
  /** Cancels this turn (an MCP request's signal, say). */
  signal?: AbortSignal;
  /** Told the turn's id as soon as it is named, before any of its events is recorded. */
  onTurn?(turn: string): void;
}

export interface TurnDeps {
  config: CogConfig;
  model: ModelClient;
  modelInfo: ModelInfo;
  sensor: Sensor;
  processes: ProcessManager;
  /** Fires when the runtime closes: every turn and memorizer update ends. */
  closing: AbortSignal;
  now(): number;
  workspace(session: string): string;
  assertOpen(): void;
}

const MAX_MESSAGE_CHARS = 32_000;

/**
 * Turns of a session: queued one after another, each run through the pipeline, recorded,
 * flushed at its end, and followed (off the critical path) by a memorizer update.
 */
export function createTurns(deps: TurnDeps) {
  const { config, model, modelInfo, sensor, processes, closing, now, workspace, assertOpen } = deps;

  async function submit(
    s: Session,
    owner: string,
    text: string,
    opts: SendOptions,
    action?: Action,
  ): Promise<TurnResult> {
    assertOpen();
    if (typeof text !== 'string' || !text.trim())
      throw new RuntimeError('invalid_input', 'The message is empty.');
    if (text.length > MAX_MESSAGE_CHARS) {
      throw new RuntimeError(
        'invalid_input',
        `The message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}.`,
      );
    }
    const turn = s.nextTurnId();
    opts.onTurn?.(turn);
    const controller = new AbortController();
    const signals = [controller.signal, closing, ...(opts.signal ? [opts.signal] : [])];
    const signal = AbortSignal.any(signals);
    s.turns.set(turn, controller);
    const position = s.queueLength++;
    if (position > 0) s.record({ type: 'turn.queued', node: 'runtime', turn, position });
    const previous = s.queue;
    const done = previous.then(() => execute(s, owner, turn, text, signal, opts, action));
    s.queue = done.catch(() => undefined);
    try {
      return await done;
    } finally {
      s.queueLength--;
      s.turns.delete(turn);
    }
  }

  async function execute(
    s: Session,
    owner: string,
    turn: string,
    text: string,
    signal: AbortSignal,
    opts: SendOptions,
    action?: Action,
  ): Promise<TurnResult> {
    const emit = (draft: EventDraft) => s.record({ ...draft, turn } as EventDraft);
    // The digest covers what happened while the user was away, so it is read before
    // the new message resets the idle clock.
    const digest = sensor.digest(s.id);
    emit({
      type: 'user.message',
      node: 'user',
      text,
      ...(action
        ? { action: { action: action.action, ...(action.data ? { data: action.data } : {}) } }
        : {}),
    });
    emit({ type: 'turn.started', node: 'runtime', mode: config.pipeline });
    const started = now();
    let status: TurnResult['status'] = 'ok';
    let error: string | undefined;
    let output = {
      text: '',
      controls: [] as TurnResult['controls'],
      processes: [] as string[],
      timing: {
        firstTokenMs: null as number | null,
        totalMs: 0,
        callsBeforeFirstToken: 0,
        modelCalls: 0,
      },
    };
    let partial = '';
    const unsubscribe = s.subscribe((e) => {
      if (e.turn === turn && e.type === 'output.delta') partial += e.text;
    });
    try {
      if (signal.aborted)
        throw Object.assign(new Error('cancelled before it started'), { code: 'llm_aborted' });
      output = await runPipeline({
        turn,
        mode: config.pipeline,
        tools: config.tools,
        history: s.history,
        identity: owner,
        channel: opts.channel ?? 'api',
        context: `${renderMemory(s.memory)}\n${digest}`,
        model,
        models: modelInfo.models,
        budgets: config.budgets,
        signal,
        emit: (node, body) => emit({ ...body, node } as EventDraft),
        runCode: (language, code, onCreated) =>
          processes.run({
            session: s.id,
            turn,
            language,
            code,
            workspace: workspace(s.id),
            signal,
            onCreated,
          }),
        now,
      });
    } catch (err) {
      status = signal.aborted ? 'cancelled' : 'error';
      error = status === 'cancelled' ? 'The turn was cancelled.' : messageOf(err);
      const reported = (err as { reported?: boolean }).reported;
      if (status === 'error' && !reported)
        emit({ type: 'node.error', node: 'runtime', code: codeOf(err), message: error });
      output.text = partial.trim();
      output.timing.totalMs = now() - started;
    } finally {
      unsubscribe();
    }
    if (output.text || status === 'ok') {
      emit({
        type: 'assistant.message',
        node: 'output',
        text: output.text,
        controls: output.controls,
        processes: output.processes,
        model: modelInfo,
      });
    }
    emit({
      type: 'turn.done',
      node: 'runtime',
      status,
      timing: output.timing,
      ...(error ? { error } : {}),
    });
    await flushOrWarn(s);
    if (status === 'ok') scheduleMemorizer(s, turn);
    return {
      session: s.id,
      turn,
      status,
      text: output.text,
      controls: output.controls,
      processes: output.processes,
      model: modelInfo,
      timing: output.timing,
      ...(error ? { error } : {}),
    };
  }

  /** Off the critical path: the next message never waits for this. */
  function scheduleMemorizer(s: Session, turn: string) {
    s.memorizer = s.memorizer.then(async () => {
      if (closing.aborted) return;
      const node: NodeName = 'memorizer';
      const emit = (body: Parameters<Parameters<typeof distill>[0]['emit']>[0]) =>
        s.record({ ...body, node, turn } as EventDraft);
      const prev = s.memory;
      try {
        const next = await distill(
          {
            node,
            model,
            modelName: modelInfo.models.memorizer,
            budget: config.budgets.memorizer,
            signal: closing,
            emit,
          },
          { history: s.history, state: prev },
        );
        const changes = diffMemory(prev, next);
        emit({ type: 'memory.updated', state: next, version: s.memoryVersion + 1, changes });
      } catch (err) {
        const message =
          err instanceof MemoryParseError
            ? `${err.message} (kept the previous state)`
            : messageOf(err);
        emit({ type: 'node.error', code: codeOf(err), message });
      }
      await flushOrWarn(s);
    });
  }

  return { submit };
}

/** The turn is over whether or not the disk kept up; the store retries and reports. */
async function flushOrWarn(s: Session) {
  try {
    await s.flush();
  } catch (err) {
    process.stderr.write(`cog: could not save session ${s.id}: ${messageOf(err)}\n`);
  }
}
