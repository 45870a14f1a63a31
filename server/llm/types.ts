import type { NodeName } from '../../protocol/events.js';

/**
 * The one interface every model source implements: an OpenAI-compatible endpoint and the
 * offline engine alike, so the pipeline runs the same code either way.
 */

export interface ToolCall {
  id: string;
  name: string;
  /** Raw JSON text of the arguments, exactly as the model produced it. */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; content: string; toolCallId: string };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  /** Which node is calling; sent to the endpoint as the `X-Cog-Node` header. */
  node: NodeName;
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Ask for a JSON object reply (memorizer). Endpoints that ignore it are fine. */
  json?: boolean;
  maxTokens?: number;
  temperature?: number;
  signal: AbortSignal;
  /** Called with each text delta while streaming; when set the call streams. */
  onDelta?: (text: string) => void;
}

export interface ChatResult {
  text: string;
  toolCalls: ToolCall[];
  model: string;
  finishReason: string | null;
  usage?: Usage;
}

/** What the provider says a call used, when it says (streams: `include_usage`). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the provider's cache, when it reports them. */
  cachedTokens?: number;
  /** What the call cost in USD, when the provider reports it (OpenRouter's `usage.cost`). */
  cost?: number;
}

export interface ModelClient {
  /** True for the offline engine. */
  readonly offline: boolean;
  /** Endpoint base URL (absent for the offline engine). */
  readonly baseUrl?: string;
  /** One model call. Streams through `req.onDelta` when given. Rejects with an LlmError. */
  chat(req: ChatRequest): Promise<ChatResult>;
  close?(): void;
}

export type LlmErrorCode =
  | 'llm_http' // non-retryable HTTP status (4xx other than 429)
  | 'llm_retries_exhausted' // 429/5xx after the last attempt
  | 'llm_stream_idle' // no bytes for the idle limit
  | 'llm_timeout' // whole call over the total limit
  | 'llm_aborted' // the caller's signal fired
  | 'llm_network' // connection refused, reset, DNS
  | 'llm_bad_response'; // unparseable or empty reply

/** Errors cross bundles: check `code`, not `instanceof`. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  constructor(
    readonly code: LlmErrorCode,
    message: string,
    readonly status?: number,
    /** The text the caller had already received through `onDelta`, when a reply broke off. */
    readonly partialText?: string,
  ) {
    super(message);
  }
}
