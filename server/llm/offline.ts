import type { ChatMessage, ChatRequest, ChatResult, ModelClient, ToolCall } from './types.js';
import { LlmError } from './types.js';

/**
 * The offline engine: what answers when no model is configured. Deterministic and without
 * network, yet it drives the whole pipeline the way a model would: it perceives, calls
 * run_code for arithmetic, shows a table when asked, and gives the memorizer a name to keep.
 * Every reply is labelled offline by the runtime.
 */

export const OFFLINE_MODEL = 'offline';

const ARITHMETIC = /(-?\d+(?:\.\d+)?(?:\s*(?:\*\*|[-+*/%x×^])\s*-?\d+(?:\.\d+)?)+)/;
// "I’m Ada" as keyboards on phones and Cog's own hint write it, and "I'm Ada" alike.
const NAME = /\b(?:i am|i['’]m|im|my name is|call me)\s+([A-Z][\p{L}'’-]{0,40})/iu;
const ACTION = /^\[action: ([\w.:-]+)\](.*)$/s;

const HELP =
  'I am Cog’s offline engine: no model is configured, so I answer from a fixed script. ' +
  'Try “what is 17*23?”, “show me a table” or “I’m Ada”. To talk to a real model, set ' +
  'COG_LLM_BASE_URL (and COG_MODEL) or OPENROUTER_API_KEY.';

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

function think(req: ChatRequest): ChatResult {
  const { messages } = req;
  const native = Boolean(req.tools?.length);
  const last = messages.at(-1);
  // After a tool ran: answer from its result.
  if (
    last?.role === 'tool' ||
    (last?.role === 'user' && last.content.startsWith('Output of the code'))
  ) {
    const output = last.content.split('\n').slice(1).join('\n').trim();
    if (/^Shown/.test(last.content)) return reply('Here is the table.');
    const question = messages
      .filter((m) => m.role === 'user' && !m.content.startsWith('Output of the code'))
      .at(-1);
    const expr = expressionOf(question?.content ?? '');
    const status = /^\[process \S+ \w+: (\S+),/.exec(last.content)?.[1];
    if (status !== 'done')
      return reply(`The code did not finish (${status ?? 'unknown'}): ${output || 'no output'}`);
    return reply(
      expr ? `${expr.replace(/\*/g, ' × ')} = ${output}` : `The code printed: ${output}`,
    );
  }
  const text = lastOf(messages, 'user')?.content ?? '';
  const action = ACTION.exec(text);
  if (action) {
    if (action[1] === 'more') {
      return reply(
        'Each message goes through Input (perception), Thinker (reasoning and tools), Output ' +
          '(the streamed reply); the Memorizer updates shared memory afterwards.',
      );
    }
    return reply(
      `You clicked “${action[1]}”.${action[2]?.trim() ? ` Data: ${action[2].trim()}` : ''}`,
    );
  }
  const expr = expressionOf(text);
  if (expr) {
    const code = `console.log(${expr.replace(/\^/g, '**')})`;
    if (native) return toolCall('run_code', { language: 'javascript', code });
    return reply(`Let me compute that.\n\n\`\`\`javascript\n${code}\n\`\`\``);
  }
  if (/\btable\b/i.test(text)) {
    if (native) return toolCall('show_controls', table());
    return reply(
      `Here is the table.\n\n\`\`\`controls\n${JSON.stringify(table().controls)}\n\`\`\``,
    );
  }
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
    return reply(`Hello! ${HELP}`);
  }
  return reply(`You said: “${text.slice(0, 200)}”. ${HELP}`);
}

function speak(messages: ChatMessage[]): ChatResult {
  const said = /Thinker says: ([\s\S]*)$/.exec(lastOf(messages, 'system')?.content ?? '')?.[1];
  return reply(said?.trim() || HELP);
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

export function createOfflineEngine(): ModelClient {
  return {
    offline: true,
    async chat(req) {
      if (req.signal.aborted) throw new LlmError('llm_aborted', 'The model call was cancelled.');
      const result =
        req.node === 'input'
          ? reply(perceive(req.messages))
          : req.node === 'thinker'
            ? think(req)
            : req.node === 'output'
              ? speak(req.messages)
              : memorize(req.messages);
      if (req.onDelta) await stream(result, req);
      return result;
    },
  };
}
