/**
 * A session that exercises everything the panel lays out, at its widest: all four nodes with
 * long model names and six-figure token counts, a memory full of facts, sensor ticks, a
 * reply with a wide markdown table, code and unbreakable words, a table control with many
 * columns, process cards, long button labels, banners. For the layout and contrast tests.
 */
import type { Control } from '../../protocol/controls.js';
import type { MemoryState, ModelInfo, RuntimeEvent } from '../../protocol/events.js';
import { NODE_NAMES } from '../../protocol/names.js';
import type { HostToWebview } from '../../protocol/webview.js';
import { Events, processInfo } from './events.js';

export const LONG_MODELS: ModelInfo = {
  offline: false,
  models: {
    input: 'meta-llama/llama-3.3-70b-instruct-turbo-free',
    thinker: 'anthropic/claude-sonnet-4.5-20250929-extended-thinking',
    output: 'anthropic/claude-sonnet-4.5-20250929-extended-thinking',
    memorizer: 'qwen/qwen3-235b-a22b-instruct-2507-fp8',
  },
  baseUrl: 'https://openrouter.ai/api/v1',
};

const URL_WORD =
  'https://example.com/a/very/long/path/that/does/not/break/anywhere/index.html?query=supercalifragilisticexpialidocious&and=more';
const LONG_WORD =
  'Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft';

const MEMORY: MemoryState = {
  user_name: 'Ada Lovelace-Byron, Countess of Lovelace',
  user_mood: 'curious',
  topic: `analytical engines and ${LONG_WORD}`,
  topic_history: ['arithmetic', 'tables of Bernoulli numbers', 'the difference engine', URL_WORD],
  situation: 'working late on notes for Menabrea’s article',
  language: 'en',
  style_hint: 'brief, with worked examples',
  facts: Array.from(
    { length: 14 },
    (_, i) => `fact ${i + 1}: the user mentioned ${i % 3 ? 'a detail' : URL_WORD} in turn ${i + 2}`,
  ),
};

const REPLY = `Here is everything at once, **${LONG_WORD}** included: ${URL_WORD}

| node | model | tokens | budget | fill | latency | calls | trimmed | cached | errors |
|------|-------|--------|--------|------|---------|-------|---------|--------|--------|
| input | ${LONG_MODELS.models.input} | 123,456 | 200,000 | 62% | 1.2 s | 3 | 0 | 12,000 | none |
| thinker | ${LONG_MODELS.models.thinker} | 187,654 | 200,000 | 94% | 12.3 s | 4 | 2 | 100,000 | none |

\`\`\`python
result = sum(int(digit) ** 2 for digit in str(17 * 23 * 1000000000000000000000)) + len("${LONG_WORD}")
print(result)
\`\`\`

Inline \`${LONG_WORD}.${LONG_WORD}()\` code and a [link with a long target](${URL_WORD}).`;

const TABLE: Control = {
  type: 'table',
  title: 'Every node, every number, in one very wide table with a long caption',
  columns: [
    'node',
    'model',
    'status',
    'tokens',
    'budget',
    'fill %',
    'latency ms',
    'calls',
    'trimmed',
    'cached tokens',
    'last error',
    'url',
  ],
  rows: NODE_NAMES.map((n, i) => [
    n,
    LONG_MODELS.models[n],
    i % 2 ? 'done' : 'streaming',
    123_456 + i,
    200_000,
    62 + i,
    12_345 * (i + 1),
    i + 1,
    i,
    100_000,
    i === 2 ? LONG_WORD : null,
    URL_WORD,
  ]),
};

/** The events of the rich session (three turns), and the host messages around them. */
export function richSession(): {
  snapshot: HostToWebview;
  after: HostToWebview[];
} {
  const ev = new Events();
  const events: RuntimeEvent[] = [];
  const e = (draft: Parameters<Events['ev']>[0]) => events.push(ev.ev(draft));

  // Turn 1: a reply with a wide markdown table, code and long words.
  events.push(
    ...ev.turn(`Look at ${URL_WORD} and tell me about ${LONG_WORD}`, [REPLY], {
      model: LONG_MODELS,
    }),
  );
  // Sensor ticks, several in a row (they fold into one trace row).
  for (let i = 0; i < 4; i++)
    e({
      type: 'sensor.tick',
      node: 'sensor',
      readings: {
        clock: `2026-12-03 08:0${i}`,
        idle: `${i * 60} s`,
        memory_version: '7',
        workspace: `/home/ada/projects/${LONG_WORD}/notes`,
      },
      deltas: { clock: `2026-12-03 08:0${i}`, ...(i ? { idle: `${i * 60} s` } : {}) },
    });
  e({
    type: 'memory.updated',
    node: 'memorizer',
    state: MEMORY,
    version: 7,
    changes: [`topic: arithmetic -> analytical engines and ${LONG_WORD}`, 'facts: +2'],
  });

  // Turn 2: process cards (one waiting, one done with output) and a table, buttons.
  const turn = `t${++ev.turns}`;
  const waiting = processInfo('p-0a1b2c3d', {
    code: `print(sum(range(10**6)))  # ${LONG_WORD} ${URL_WORD}`,
    isolation: 'none',
    reason: 'no sandbox works for this language here: it would run with your full rights',
  });
  const done = processInfo('p-4e5f6a7b', {
    status: 'done',
    exitCode: 0,
    code: 'print(17*23)',
    startedAt: new Date().toISOString(),
    endedAt: new Date().toISOString(),
    outputBytes: 4,
  });
  const controls: Control[] = [
    { type: 'process', processId: waiting.id },
    { type: 'process', processId: done.id },
    TABLE,
    { type: 'button', label: 'Tell me more about the analytical engine', action: 'more' },
    { type: 'button', label: LONG_WORD, action: 'word' },
    { type: 'button', label: 'OK', action: 'ok' },
  ];
  e({ type: 'user.message', node: 'user', turn, text: 'what is 17*23? and show me a table' });
  e({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' });
  for (const [i, node] of NODE_NAMES.entries()) {
    e({ type: 'node.thinking', node, turn, detail: `working on ${LONG_WORD}` });
    e({
      type: 'node.context',
      node,
      turn,
      tokens: 187_654 - i * 1000,
      budget: 200_000,
      fillPct: 94,
      messages: 40,
      trimmed: 2,
      usage: { promptTokens: 187_001, completionTokens: 2_345, cachedTokens: 100_000 },
    });
  }
  e({ type: 'process.updated', node: 'process', turn, process: waiting });
  e({ type: 'process.updated', node: 'process', turn, process: done });
  e({
    type: 'process.output',
    node: 'process',
    turn,
    process: done.id,
    stream: 'stdout',
    text: '391\n',
  });
  e({
    type: 'process.output',
    node: 'process',
    turn,
    process: done.id,
    stream: 'stderr',
    text: `warning: ${URL_WORD}\n`,
  });
  e({ type: 'controls', node: 'thinker', turn, controls });
  for (const node of ['input', 'thinker', 'output'] as const)
    e({
      type: 'node.done',
      node,
      turn,
      ms: 123_456,
      model: LONG_MODELS.models[node],
      approvalWaitMs: 60_000,
    });
  e({
    type: 'node.error',
    node: 'memorizer',
    turn,
    code: 'llm_timeout',
    message: `timed out ${URL_WORD}`,
  });
  e({ type: 'output.delta', node: 'output', turn, text: `17*23 = 391. ${LONG_WORD}` });
  e({
    type: 'assistant.message',
    node: 'output',
    turn,
    text: `17*23 = 391. ${LONG_WORD}`,
    controls,
    processes: [waiting.id, done.id],
    model: LONG_MODELS,
  });
  e({
    type: 'turn.done',
    node: 'runtime',
    turn,
    status: 'ok',
    timing: { firstTokenMs: 1234, totalMs: 123_456, callsBeforeFirstToken: 1, modelCalls: 5 },
  });
  // Turn 3: the user clicked a button.
  const t3 = `t${++ev.turns}`;
  e({ type: 'user.message', node: 'user', turn: t3, text: `[action: more] ${URL_WORD}` });

  return {
    snapshot: ev.snapshot(events, false, LONG_MODELS),
    after: [
      { type: 'connection', status: 'reconnecting', detail: `retrying ${URL_WORD}` },
      { type: 'notice', level: 'error', message: `Could not send: ${LONG_WORD} ${URL_WORD}` },
    ],
  };
}
