import type { NodeName, RuntimeEventBody } from '../../../protocol/events.js';
import type { ChatMessage, ChatRequest, ChatResult, ModelClient } from '../../llm/types.js';
import { countTokens, fitContext, loadTokenizer } from '../context.js';

/**
 * Everything a node needs from the outside world, handed in so that a node is a plain
 * async function: a test can give it a scripted model and collect its events.
 */
export interface NodeEnv {
  node: NodeName;
  model: ModelClient;
  modelName: string;
  /** Context budget in tokens. */
  budget: number;
  signal: AbortSignal;
  emit(body: RuntimeEventBody): void;
  /** Told before every model call (the pipeline counts calls before the first token). */
  onModelCall?(): void;
  /** The runtime's clock (ms): nodes time themselves with it, so a test's clock is theirs. */
  now(): number;
}

export type CallOptions = Omit<ChatRequest, 'node' | 'model' | 'messages' | 'signal'>;

/**
 * Fits the messages into the node's budget, reports the fill on the HUD, and makes one
 * model call. Every node's call goes through here so the HUD is the same for all.
 */
export async function callModel(
  env: NodeEnv,
  messages: ChatMessage[],
  options: CallOptions = {},
  /** Of the messages, the tokens of attached editor context (a leading system message). */
  attachedTokens = 0,
): Promise<ChatResult> {
  await loadTokenizer();
  // The tool schemas travel with every call and count against the budget like messages.
  const toolTokens = options.tools?.length ? countTokens(JSON.stringify(options.tools)) : 0;
  const fitted = fitContext(messages, Math.max(0, env.budget - toolTokens));
  const tokens = fitted.tokens + toolTokens;
  const context = {
    type: 'node.context' as const,
    tokens,
    budget: env.budget,
    fillPct: Math.min(100, Math.round((100 * tokens) / env.budget)),
    messages: fitted.messages.length,
    trimmed: fitted.trimmed,
    ...(toolTokens ? { toolTokens } : {}),
    ...(attachedTokens ? { attachedTokens } : {}),
  };
  env.emit(context);
  env.onModelCall?.();
  const result = await env.model.chat({
    ...options,
    node: env.node,
    model: env.modelName,
    messages: fitted.messages,
    signal: env.signal,
  });
  // The provider's own count, beside ours: the HUD and `state` show both.
  if (result.usage) env.emit({ ...context, usage: result.usage });
  return result;
}

/** Plain conversation turns for a node's prompt: user and assistant text only. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

export function lastTurns(history: readonly Turn[], n: number): ChatMessage[] {
  return history.slice(-n).map((t) => ({ role: t.role, content: t.content }));
}
