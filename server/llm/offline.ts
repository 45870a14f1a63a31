import type { ChatMessage, ChatRequest, ChatResult, ModelClient, ToolCall } from './types.js';
import { LlmError } from './types.js';
import {
  countCode,
  countOf,
  COUNT_DEFAULT,
  demoButtons,
  helpReply,
  sandboxProbeCode,
  sandboxVerdict,
  wantsSandboxDemo,
} from './offline-demos.js';

/**
 * The offline engine: what answers when no model is configured. Deterministic and without
 * network, yet it drives the whole pipeline the way a model would: it perceives, runs code
 * (arithmetic, a slow count to cancel, a probe of the sandbox), shows tables and buttons,
 * and gives the memorizer a name to keep; `help` lists it all (offline-demos.ts). Every
 * reply is labelled offline by the runtime.
 */

export const OFFLINE_MODEL = 'offline';

const ARITHMETIC = /(-?\d+(?:\.\d+)?(?:\s*(?:\*\*|[-+*/%x×^])\s*-?\d+(?:\.\d+)?)+)/;
// "I’m Ada" as keyboards on phones and Cog's own hint write it, and "I'm Ada" alike.
const NAME = /\b(?:i am|i['’]m|im|my name is|call me)\s+([A-Z][\p{L}'’-]{0,40})/iu;
const ACTION = /^\[action: ([\w.:-]+)\](.*)$/s;

export interface OfflineOptions {
  /** COG_HOME: the sandbox demo shows that code cannot read Cog's token and config there. */
  home?: string;
  /** Where the user is: the hint to configure a model names what they can do there. */
  surface?: 'terminal' | 'vscode';
}

/** How to leave the offline engine, in the words of the surface the user is on. */
function configureHint(surface: OfflineOptions['surface']): string {
  return surface === 'vscode'
    ? 'To talk to a real model, run “Cog: Set API Key” (an OpenRouter or OpenAI key), or set ' +
        'Cog’s Base Url and Model in Settings.'
    : 'To talk to a real model, set COG_LLM_BASE_URL (and COG_MODEL) or OPENROUTER_API_KEY.';
}

function shortHelp(surface: OfflineOptions['surface']): string {
  return (
    'I am Cog’s offline engine: no model is configured, so I answer from a fixed script. ' +
    `Try “help”, “what is 17*23?”, “count slowly to 20” or “I’m Ada”. ${configureHint(surface)}`
  );
}

function lastOf(messages: ChatMessage[], role: ChatMessage['role']) {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === role) return messages[i];
  return undefined;
}

function systemText(messages: ChatMessage[]) {
  return messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n');
}

function expressionOf(text: string): string | undefined {
  const m = ARITHMETIC.exec(text);
  return m?.[1]?.replace(/[x×]/g, '*').replace(/\s+/g, '');
}

function nameOf(text: string): string | undefined {
  const m = NAME.exec(text);
  const name = m?.[1];
  if (!name || /^(a|an|the|not|here|fine|ok|okay|good|back|done)$/i.test(name)) return undefined;
  return name[0].toUpperCase() + name.slice(1);
}

function perceive(messages: ChatMessage[]): string {
  const text = lastOf(messages, 'user')?.content ?? '';
  const speaker = /Speaker: ([^.]+)\./.exec(systemText(messages))?.[1] ?? 'the user';
  const action = ACTION.exec(text);
  if (action) return `${speaker} clicked the “${action[1]}” control.`;
  const kind = expressionOf(text)
    ? 'asks for a calculation'
    : /\btable\b/i.test(text)
      ? 'asks to see a table'
      : nameOf(text)
        ? 'introduces themselves'
        : /\?\s*$/.test(text)
          ? 'asks a question'
          : 'says something';
  return `${speaker} ${kind}: “${text.slice(0, 200)}”.`;
}

function table() {
  return {
    controls: [
      {
        type: 'table',
        title: 'Cog’s nodes',
        columns: ['node', 'role'],
        rows: [
          ['input', 'perceives each message'],
          ['thinker', 'reasons, runs code, shows controls'],
          ['output', 'speaks the reply'],
          ['memorizer', 'keeps the shared memory'],
        ],
      },
      { type: 'button', label: 'Tell me more', action: 'more', data: { about: 'nodes' } },
    ],
  };
}

/** The code of the run the Thinker asked for last: a tool call's, or a fenced block's. */
function lastCode(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role !== 'assistant') continue;
    const call = m.toolCalls?.find((c) => c.name === 'run_code');
    if (call) return String((JSON.parse(call.arguments) as { code?: unknown }).code ?? '');
    const fenced = /```\w*\n([\s\S]*?)```/.exec(m.content);
    if (fenced) return fenced[1];
  }
  return '';
}

/** The answer once a run or a control ended, from what it was and how it went. */
function afterTool(messages: ChatMessage[], last: ChatMessage, surface: Surface): ChatResult {
  const question =
    messages.filter((m) => m.role === 'user' && !m.content.startsWith('Output of the code')).at(-1)
      ?.content ?? '';
  if (/^Shown/.test(last.content)) {
    if (isHelp(question) || /\[action: help\]/.test(question)) return reply(helpReply());
    if (/\bbuttons?\b/i.test(question))
      return reply('Here are some buttons: a click comes back to me as an action, like a message.');
    return reply('Here is the table.');
  }
  const output = last.content.split('\n').slice(1).join('\n').trim();
  const head = /^(?:Output of the code you ran:\n)?\[process \S+ \w+: (\S+), exit \S+, (\w+)/.exec(
    last.content,
  );
  const [status, isolation] = [head?.[1], head?.[2]];
  const code = lastCode(messages);
  if (code.includes('socket.create_connection')) return reply(sandboxVerdict(output, isolation));
  if (status !== 'done')
    return reply(`The code did not finish (${status ?? 'unknown'}): ${output || 'no output'}`);
  if (code.includes('time.sleep')) {
    const n = output.split('\n').filter(Boolean).at(-1);
    return reply(
      `Counted to ${n}, one number every half second. ${surface === 'vscode' ? 'Cancel' : 'Ctrl-C'} stops a run like this midway.`,
    );
  }
  const expr = expressionOf(question);
  return reply(expr ? `${expr.replace(/\*/g, ' × ')} = ${output}` : `The code printed: ${output}`);
}

const isHelp = (text: string) =>
  /^\s*(help|\?|what can you (do|show)|how does this work)\b/i.test(text);

type Surface = OfflineOptions['surface'];

function think(req: ChatRequest, opts: OfflineOptions): ChatResult {
  const { messages } = req;
  const native = Boolean(req.tools?.length);
  const last = messages.at(-1);
  if (
    last?.role === 'tool' ||
    (last?.role === 'user' && last.content.startsWith('Output of the code'))
  ) {
    return afterTool(messages, last, opts.surface);
  }
  const run = (language: string, code: string, intro: string) =>
    native
      ? toolCall('run_code', { language, code })
      : reply(`${intro}\n\n\`\`\`${language}\n${code}\n\`\`\``);
  const show = (controls: { controls: unknown[] }, intro: string) =>
    native
      ? toolCall('show_controls', controls)
      : reply(`${intro}\n\n\`\`\`controls\n${JSON.stringify(controls.controls)}\n\`\`\``);
  const demos = {
    count: (n: number) => run('python', countCode(n), `Counting to ${n}, slowly.`),
    sandbox: () =>
      run('python', sandboxProbeCode(opts.home), 'Let me try to read what a sandbox must refuse.'),
    table: () => show(table(), 'Here is the table.'),
    buttons: () => show(demoButtons(), 'Here are some buttons.'),
    help: () => (native ? toolCall('show_controls', demoButtons()) : reply(helpReply())),
  };

  const text = lastOf(messages, 'user')?.content ?? '';
  const action = ACTION.exec(text);
  if (action) {
    const data = parseData(action[2]);
    switch (action[1]) {
      case 'more':
        return reply(
          'Each message goes through Input (perception), Thinker (reasoning and tools), Output ' +
            '(the streamed reply); the Memorizer updates shared memory afterwards.',
        );
      case 'count':
        return demos.count(typeof data.to === 'number' ? data.to : COUNT_DEFAULT);
      case 'sandbox':
      case 'table':
      case 'help':
        return demos[action[1]]();
    }
    return reply(
      `You clicked “${action[1]}”.${action[2]?.trim() ? ` Data: ${action[2].trim()}` : ''}`,
    );
  }
  if (isHelp(text)) return demos.help();
  const count = countOf(text);
  if (count !== undefined) return demos.count(count);
  if (wantsSandboxDemo(text)) return demos.sandbox();
  const expr = expressionOf(text);
  if (expr)
    return run('javascript', `console.log(${expr.replace(/\^/g, '**')})`, 'Let me compute that.');
  if (/\btable\b/i.test(text)) return demos.table();
  if (/\bbuttons?\b/i.test(text)) return demos.buttons();
  const name = nameOf(text);
  if (name) return reply(`Nice to meet you, ${name}. I will remember your name.`);
  if (/\bmy name\b/i.test(text)) {
    // From the shared memory, else from the conversation, as a model reading both would.
    const said = messages.filter((m) => m.role === 'user').map((m) => nameOf(m.content));
    const known =
      /- user_name: (.+)/.exec(systemText(messages))?.[1] ?? said.filter(Boolean).at(-1);
    return reply(known ? `Your name is ${known}.` : 'You have not told me your name yet.');
  }
  if (/^(hi|hello|hey|hallo|good (morning|evening|afternoon))\b/i.test(text.trim())) {
    return reply(`Hello! ${shortHelp(opts.surface)}`);
  }
  return reply(`You said: “${text.slice(0, 200)}”. ${shortHelp(opts.surface)}`);
}

function parseData(text: string | undefined): Record<string, unknown> {
  try {
    const data: unknown = JSON.parse(text?.trim() || '{}');
    return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function speak(messages: ChatMessage[], opts: OfflineOptions): ChatResult {
  const said = /Thinker says: ([\s\S]*)$/.exec(lastOf(messages, 'system')?.content ?? '')?.[1];
  return reply(said?.trim() || shortHelp(opts.surface));
}

function memorize(messages: ChatMessage[]): ChatResult {
  const state = JSON.parse(/Current state: (.*)/.exec(systemText(messages))?.[1] ?? '{}') as Record<
    string,
    unknown
  >;
  const users = messages.filter((m) => m.role === 'user').map((m) => m.content);
  const name = users.map(nameOf).filter(Boolean).at(-1);
  const latest = users.at(-2) ?? '';
  const topic = expressionOf(latest)
    ? 'arithmetic'
    : /\btable\b/i.test(latest)
      ? 'tables'
      : name
        ? 'introductions'
        : state.topic;
  const facts = name ? [`The user's name is ${name}`] : [];
  return reply(JSON.stringify({ ...state, ...(name ? { user_name: name } : {}), topic, facts }));
}

function reply(text: string): ChatResult {
  return { text, toolCalls: [], model: OFFLINE_MODEL, finishReason: 'stop' };
}

function toolCall(name: string, args: unknown): ChatResult {
  const call: ToolCall = { id: `call_${name}`, name, arguments: JSON.stringify(args) };
  return { text: '', toolCalls: [call], model: OFFLINE_MODEL, finishReason: 'tool_calls' };
}

/** Sends the text in word-sized deltas, yielding between them like a network stream. */
async function stream(result: ChatResult, req: ChatRequest): Promise<void> {
  const pieces = result.text.match(/\S+\s*|\s+/g) ?? [];
  for (const piece of pieces) {
    if (req.signal.aborted) throw new LlmError('llm_aborted', 'The model call was cancelled.');
    req.onDelta?.(piece);
    await new Promise<void>((r) => setImmediate(r));
  }
}

export function createOfflineEngine(opts: OfflineOptions = {}): ModelClient {
  return {
    offline: true,
    async chat(req) {
      if (req.signal.aborted) throw new LlmError('llm_aborted', 'The model call was cancelled.');
      const result =
        req.node === 'input'
          ? reply(perceive(req.messages))
          : req.node === 'thinker'
            ? think(req, opts)
            : req.node === 'output'
              ? speak(req.messages, opts)
              : memorize(req.messages);
      if (req.onDelta) await stream(result, req);
      return result;
    },
  };
}
