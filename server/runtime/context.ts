import type { ChatMessage } from '../llm/types.js';

/**
 * Context budgets, counted with a real BPE tokenizer (o200k). Models differ in their
 * tokenizers; o200k is close for current models and, unlike length/4, does not under-count
 * code, numbers and non-English text by half.
 */

/** Per-message framing the chat formats add (role markers, separators). */
const MESSAGE_OVERHEAD = 4;
const cache = new Map<string, number>();
const CACHE_LIMIT = 2000;

type Counter = (text: string) => number;
let bpeCount: Counter | undefined;
let bpeEncode: ((text: string) => number[]) | undefined;
let bpeDecode: ((tokens: number[]) => string) | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the tokenizer, once. Its tables cost ~60 MB and ~0.3 s to build, so they are
 * built on the first model call, not at start-up (`cog --version`, a runtime that only
 * serves reads, or one waiting for its first message never pays for them).
 */
export function loadTokenizer(): Promise<void> {
  loading ??= import('gpt-tokenizer').then((m) => {
    bpeCount = m.countTokens;
    bpeEncode = (text) => m.encode(text);
    bpeDecode = (tokens) => m.decode(tokens);
  });
  return loading;
}

/**
 * Tokens in a text, once `loadTokenizer()` has resolved. Memoised: the same history is
 * counted by several nodes every turn.
 */
export function countTokens(text: string): number {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  if (!bpeCount) throw new Error('countTokens before loadTokenizer() resolved');
  const n = bpeCount(text);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(text, n);
  return n;
}

/** Tokens in a large text counted once (an attached file): not memoised. */
export function countTokensOnce(text: string): number {
  if (!bpeCount) throw new Error('countTokensOnce before loadTokenizer() resolved');
  return bpeCount(text);
}

/**
 * The longest start of `text` that is at most `max` tokens, once `loadTokenizer()` has
 * resolved. Not memoised: it is for large texts counted once (attached files).
 */
export function truncateToTokens(text: string, max: number): string {
  if (!bpeEncode || !bpeDecode) throw new Error('truncateToTokens before loadTokenizer() resolved');
  const tokens = bpeEncode(text);
  return tokens.length <= max ? text : bpeDecode(tokens.slice(0, Math.max(0, max)));
}

export function messageTokens(m: ChatMessage): number {
  let n = countTokens(m.content) + MESSAGE_OVERHEAD;
  if (m.role === 'assistant' && m.toolCalls) {
    for (const call of m.toolCalls) n += countTokens(call.name) + countTokens(call.arguments);
  }
  return n;
}

export interface FittedContext {
  messages: ChatMessage[];
  tokens: number;
  budget: number;
  /** Messages dropped to fit. */
  trimmed: number;
}

/**
 * Fits messages into a token budget. The leading system messages and the newest
 * `protectLast` messages are always kept; older middle messages go first, oldest first.
 * If even that is over budget, the protected tail is shortened from its oldest end
 * (never the last message).
 */
export function fitContext(
  messages: ChatMessage[],
  budget: number,
  protectLast = 4,
): FittedContext {
  let head = 0;
  while (head < messages.length && messages[head].role === 'system') head++;
  const system = messages.slice(0, head);
  const rest = messages.slice(head);
  const tailStart = Math.max(0, rest.length - protectLast);
  let tail = rest.slice(tailStart);
  const middle = rest.slice(0, tailStart);

  const sum = (list: ChatMessage[]) => list.reduce((n, m) => n + messageTokens(m), 0);
  let used = sum(system) + sum(tail);
  while (used > budget && tail.length > 1) {
    used -= messageTokens(tail[0]);
    tail = dropLeadingToolResults(tail.slice(1));
    used = sum(system) + sum(tail);
  }
  const kept: ChatMessage[] = [];
  for (let i = middle.length - 1; i >= 0; i--) {
    const t = messageTokens(middle[i]);
    if (used + t > budget) break;
    kept.unshift(middle[i]);
    used += t;
  }
  const body = dropLeadingToolResults([...kept, ...tail]);
  const result = [...system, ...body];
  return {
    messages: result,
    tokens: sum(result),
    budget,
    trimmed: messages.length - result.length,
  };
}

/** A tool result without the assistant call before it is rejected by most endpoints. */
function dropLeadingToolResults(list: ChatMessage[]): ChatMessage[] {
  let i = 0;
  while (i < list.length - 1 && list[i].role === 'tool') i++;
  return i ? list.slice(i) : list;
}
