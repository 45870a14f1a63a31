import { z } from 'zod';
import { parseControls, type Control } from '../../../protocol/controls.js';
import { LANGUAGES, type Language, type ProcessInfo } from '../../../protocol/events.js';
import { SHARED_DIR, type AttachedItem } from '../../../protocol/attached.js';
import type { ChatMessage, ToolCall, ToolSpec } from '../../llm/types.js';
import { renderAttached } from '../attached.js';
import { countTokens, loadTokenizer, messageTokens } from '../context.js';
import type { RunResult } from '../../processes/types.js';
import { FenceGate, parseFenced } from './fenced.js';
import type { NodeEnv, Turn } from './node-env.js';
import { callModel, lastTurns } from './node-env.js';

export interface ThinkInput {
  history: readonly Turn[];
  /** The Input node's perception; absent in fast mode, where it runs after the reply. */
  perception?: string;
  context: string;
  tools: 'native' | 'fenced';
  /**
   * Runs code; `onCreated` is told the process before it waits for approval or runs, and
   * `onDecided` when a run that waited for approval stops waiting.
   */
  runCode(
    language: Language,
    code: string,
    onCreated: (process: ProcessInfo) => void,
    onDecided?: (process: ProcessInfo) => void,
  ): Promise<RunResult>;
  /** Fast mode: the reply streams to the user as the Thinker writes it. */
  onDelta?(text: string): void;
  /** Editor context the user attached to the newest message (its text; this turn only). */
  attached?: readonly AttachedItem[];
  /** Files the user let this session's code runs read (read-only, at shared/<path>). */
  sharedFiles?: readonly string[];
}

export interface Thought {
  text: string;
  controls: Control[];
  processes: string[];
  decision: 'direct' | 'tool' | 'controls';
  /** Time the Thinker spent waiting for a human to approve its runs: not its latency. */
  approvalWaitMs: number;
}

/** Model calls one turn may make: the first answer plus tool follow-ups. */
const MAX_ROUNDS = 4;

export const THINKER_TOOLS: ToolSpec[] = [
  {
    name: 'run_code',
    description:
      'Run code in a sandbox and get its output. Use it for arithmetic, data work and anything ' +
      'that must be computed rather than guessed. python: print() results; the standard ' +
      'library only, no pip packages. javascript: console.log(); no npm packages. sql: ' +
      'SQLite statements on this session’s own database file. The sandbox has no network ' +
      'and sees only the session’s working directory (files written there persist between ' +
      'runs); about 10 s and 1 GiB per run.',
    parameters: {
      type: 'object',
      properties: {
        language: { type: 'string', enum: [...LANGUAGES] },
        code: { type: 'string' },
      },
      required: ['language', 'code'],
      additionalProperties: false,
    },
  },
  {
    name: 'show_controls',
    description:
      'Show interactive controls in the chat. button: {type:"button", label, action, data?}; ' +
      'table: {type:"table", columns: string[], rows: any[][], title?}. A click comes back ' +
      'as a message "[action: NAME] data".',
    parameters: {
      type: 'object',
      properties: { controls: { type: 'array', items: { type: 'object' } } },
      required: ['controls'],
      additionalProperties: false,
    },
  },
];

const RunCodeArgs = z.object({ language: z.enum(LANGUAGES), code: z.string().min(1) });
const ShowControlsArgs = z.object({ controls: z.array(z.unknown()) });

const NATIVE_RULES = `Use the run_code tool for anything that must be computed, and show_controls for
buttons and tables. Do not paste code for the user to run; run it.`;
const FENCED_RULES = `To run code, write one fenced block tagged python, javascript or sql; it will be
run and you will see its output. Only blocks with those tags run. To show controls, write a
fenced block tagged controls holding a JSON array, e.g.
\`\`\`controls
[{"type":"table","columns":["name"],"rows":[["Ada"]]},{"type":"button","label":"More","action":"more"}]
\`\`\``;

const SYSTEM = (
  input: ThinkInput,
) => `You are the Thinker node of Cog, a cognitive runtime: its reasoning.
Decide how to answer the newest user message: directly, by running code, or by showing
controls. Answer in plain prose for the user, briefly; results must come from the tools, not
from guessing.
${input.tools === 'native' ? NATIVE_RULES : FENCED_RULES}
${sharedRule(input.sharedFiles)}
${input.context}`;

/** Where a run finds the files the user shared with it (none: nothing is said). */
function sharedRule(files: readonly string[] | undefined): string {
  if (!files?.length) return '';
  const shown = files.slice(0, 20).map((f) => `${SHARED_DIR}/${f}`);
  const more = files.length > shown.length ? ` and ${files.length - shown.length} more` : '';
  return (
    `The user let this session's sandboxed code runs read ${files.length} of their files, ` +
    `read-only, at these paths relative to the run's working directory: ${shown.join(', ')}` +
    `${more}. Writing to them fails; write results elsewhere in the working directory.\n`
  );
}

/** The Thinker node: reasons, runs tools, and produces the reply's substance. */
export async function think(env: NodeEnv, input: ThinkInput): Promise<Thought> {
  const started = env.now();
  env.emit({ type: 'node.thinking', detail: 'reasoning about the reply' });
  const system: ChatMessage = { role: 'system', content: SYSTEM(input) };
  const turns = lastTurns(input.history, 12);
  const perception: ChatMessage[] = input.perception
    ? [{ role: 'system', content: `Perception: ${input.perception}` }]
    : [];
  // Attached context is a leading system message, so trimming never drops it; it gets
  // what the budget leaves after the rules, the newest message and the tool schemas,
  // less a quarter kept for the conversation before it.
  let attached: ChatMessage[] = [];
  let attachedTokens = 0;
  if (input.attached?.length) {
    await loadTokenizer();
    const fixed =
      messageTokens(system) +
      (turns.length ? messageTokens(turns[turns.length - 1]) : 0) +
      perception.reduce((n, m) => n + messageTokens(m), 0) +
      (input.tools === 'native' ? countTokens(JSON.stringify(THINKER_TOOLS)) : 0);
    const room = Math.max(0, env.budget - fixed - Math.floor(env.budget / 4));
    const fitted = renderAttached(input.attached, room);
    attached = [{ role: 'system', content: fitted.text }];
    attachedTokens = messageTokens(attached[0]);
    if (fitted.trimmed) {
      env.emit({
        type: 'node.thinking',
        detail: `attached context cut to fit the budget (${fitted.trimmed} item(s))`,
      });
    }
  }
  const messages: ChatMessage[] = [system, ...attached, ...turns, ...perception];

  const thought: Thought = {
    text: '',
    controls: [],
    processes: [],
    decision: 'direct',
    approvalWaitMs: 0,
  };
  const show = (candidates: unknown[]): string => {
    const { controls, rejected } = parseControls(candidates);
    for (const reason of rejected)
      env.emit({ type: 'node.error', code: 'control_invalid', message: reason });
    if (controls.length) {
      thought.controls.push(...controls);
      env.emit({ type: 'controls', controls });
    }
    return rejected.length
      ? `Shown ${controls.length}; rejected: ${rejected.join('; ')}`
      : `Shown ${controls.length} control(s).`;
  };
  const run = async (language: Language, code: string): Promise<string> => {
    // The card goes out as soon as the process exists, so a run waiting for approval
    // already shows its Approve and Deny buttons.
    let waitingSince: number | undefined;
    const result = await input.runCode(
      language,
      code,
      (p) => {
        if (p.status === 'pending-approval') waitingSince = env.now();
        thought.processes.push(p.id);
        const card: Control = { type: 'process', processId: p.id };
        thought.controls.push(card);
        env.emit({ type: 'controls', controls: [card] });
      },
      () => {
        if (waitingSince !== undefined) thought.approvalWaitMs += env.now() - waitingSince;
        waitingSince = undefined;
      },
    );
    const p = result.process;
    const why = p.reason ? ` (${p.reason})` : '';
    return `[process ${p.id} ${p.language}: ${p.status}, exit ${p.exitCode ?? '-'}, ${p.isolation}${why}]\n${result.output}`;
  };

  let model = env.modelName;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const gate =
      input.onDelta && input.tools === 'fenced' ? new FenceGate(input.onDelta) : undefined;
    const onDelta = gate ? (t: string) => gate.push(t) : input.onDelta;
    const last = round === MAX_ROUNDS;
    const result = await callModel(
      env,
      messages,
      { tools: input.tools === 'native' && !last ? THINKER_TOOLS : undefined, onDelta },
      attachedTokens,
    );
    model = result.model;

    if (input.tools === 'native') {
      if (!result.toolCalls.length || last) {
        thought.text += result.text;
        break;
      }
      thought.text += result.text;
      messages.push({ role: 'assistant', content: result.text, toolCalls: result.toolCalls });
      for (const call of result.toolCalls) {
        messages.push({ role: 'tool', toolCallId: call.id, content: await runTool(call) });
      }
      continue;
    }

    const parsed = parseFenced(result.text);
    for (const message of parsed.errors)
      env.emit({ type: 'node.error', code: 'control_invalid', message });
    if (parsed.controls.length) show(parsed.controls);
    const held = gate?.take() ?? '';
    if (!parsed.runs.length || last) {
      // Nothing to run: the held text was prose after all (or ```controls, now removed).
      if (gate && held) input.onDelta?.(parseFenced(held).prose);
      thought.text += parsed.prose;
      break;
    }
    if (gate && held) {
      const rest = parseFenced(held).prose;
      if (rest) input.onDelta?.(`${rest}\n\n`);
    }
    thought.text += parsed.prose ? `${parsed.prose}\n\n` : '';
    messages.push({ role: 'assistant', content: result.text });
    const outputs: string[] = [];
    for (const r of parsed.runs) outputs.push(await run(r.language, r.code));
    messages.push({
      role: 'user',
      content: `Output of the code you ran:\n${outputs.join('\n\n')}\nNow answer the user from this output.`,
    });
  }

  thought.text = thought.text.trim();
  thought.decision = thought.processes.length
    ? 'tool'
    : thought.controls.length
      ? 'controls'
      : 'direct';
  const summary =
    thought.decision === 'tool'
      ? `ran ${thought.processes.length} process(es)`
      : thought.decision === 'controls'
        ? `showed ${thought.controls.length} control(s)`
        : 'direct reply';
  env.emit({ type: 'node.decided', decision: thought.decision, summary });
  env.emit({ type: 'node.done', ...latency(env.now() - started, thought.approvalWaitMs), model });
  return thought;

  async function runTool(call: ToolCall): Promise<string> {
    let args: unknown;
    try {
      args = JSON.parse(call.arguments || '{}');
    } catch {
      return toolError(`arguments of ${call.name} are not JSON`);
    }
    if (call.name === 'run_code') {
      const parsed = RunCodeArgs.safeParse(args);
      if (!parsed.success)
        return toolError(`run_code needs {language: ${LANGUAGES.join('|')}, code}`);
      return run(parsed.data.language, parsed.data.code);
    }
    if (call.name === 'show_controls') {
      const parsed = ShowControlsArgs.safeParse(args);
      if (!parsed.success) return toolError('show_controls needs {controls: [...]}');
      return show(parsed.data.controls);
    }
    return toolError(`unknown tool ${call.name}: use run_code or show_controls`);
  }

  function toolError(message: string): string {
    env.emit({ type: 'node.error', code: 'tool_call_invalid', message });
    return `Error: ${message}`;
  }
}

/**
 * A node's latency without the time its turn waited for a human's approval (the wait
 * rides along, so the HUD can say what was left out).
 */
export function latency(
  elapsedMs: number,
  approvalWaitMs: number,
): {
  ms: number;
  approvalWaitMs?: number;
} {
  const waited = Math.max(0, Math.min(elapsedMs, approvalWaitMs));
  return waited ? { ms: elapsedMs - waited, approvalWaitMs: waited } : { ms: elapsedMs };
}
