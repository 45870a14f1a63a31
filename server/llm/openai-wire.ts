import type OpenAI from 'openai';
import type { ChatMessage, ChatRequest, ChatResult, ToolCall } from './types.js';

/**
 * Translation between Cog's model types and the OpenAI chat-completions wire format, in
 * both directions. Pure functions and one accumulator; no I/O.
 */

type ChatParams = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'stream'>;

/** The request body, minus `stream`, which the caller decides. */
export function toChatParams(req: ChatRequest): ChatParams {
  const params: ChatParams = { model: req.model, messages: req.messages.map(toWireMessage) };
  if (req.tools?.length) {
    params.tools = req.tools.map(({ name, description, parameters }) => ({
      type: 'function',
      function: { name, description, parameters },
    }));
  }
  if (req.json) params.response_format = { type: 'json_object' };
  // `max_tokens`, not `max_completion_tokens`: the one every compatible server knows.
  if (req.maxTokens !== undefined) params.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) params.temperature = req.temperature;
  return params;
}

function toWireMessage(message: ChatMessage): OpenAI.ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // OpenAI's own form for a turn that only calls tools is `content: null`.
        content: message.content === '' ? null : message.content,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    case 'tool':
      return { role: 'tool', content: message.content, tool_call_id: message.toolCallId };
    default: {
      const never: never = message;
      throw new Error(`unknown message role in ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Reads a non-streamed reply, as one chunk holding the whole message. Undefined when the
 * body is not a chat completion at all (an HTML page, a bare string).
 */
export function fromCompletion(body: unknown, fallbackModel: string): ChatResult | undefined {
  if (typeof body !== 'object' || body === null || !('choices' in body)) return undefined;
  const completion = body as OpenAI.ChatCompletion;
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (!choice?.message) return undefined;
  const acc = new StreamAccumulator();
  // Custom (free-text) tool calls are never requested, so only functions are read.
  const calls = (choice.message.tool_calls ?? []).filter(
    (call): call is OpenAI.ChatCompletionMessageFunctionToolCall => call.type !== 'custom',
  );
  acc.add({
    ...completion,
    object: 'chat.completion.chunk',
    choices: [
      {
        index: 0,
        finish_reason: choice.finish_reason,
        delta: {
          content: choice.message.content,
          tool_calls: calls.map((call, index) => ({ index, ...call })),
        },
      },
    ],
  });
  return acc.result(fallbackModel);
}

/**
 * Folds streamed chunks into one result. Tool calls arrive as fragments keyed by `index`:
 * the first names the call, the rest append to its arguments. Servers differ at the edges
 * (some repeat the id and name in every fragment, some omit `index`), so a fragment with a
 * new id at a known index starts a new call and a repeated name is not appended twice.
 * (The package's `ChatCompletionStream` folds chunks too, but drops fragments without an
 * `index` and rejects tool calls whose chunks lack `type`.)
 */
export class StreamAccumulator {
  text = '';
  finishReason: string | null = null;
  /** Events folded in so far. */
  chunks = 0;
  private model = '';
  private usage: ChatResult['usage'];
  private readonly calls: ToolCall[] = [];
  private readonly slotByIndex = new Map<number, number>();

  /** Takes one chunk; returns the content delta it carried, if any. */
  add(chunk: OpenAI.ChatCompletionChunk): string | undefined {
    this.chunks++;
    if (!this.model && chunk.model) this.model = chunk.model;
    if (chunk.usage) {
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
      const cost = usageCost(chunk.usage);
      this.usage = {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
        ...(typeof cached === 'number' && { cachedTokens: cached }),
        ...(cost !== undefined && { cost }),
      };
    }
    const choice = chunk.choices?.[0];
    if (!choice) return undefined;
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    for (const fragment of choice.delta?.tool_calls ?? []) this.addToolFragment(fragment);
    const content = choice.delta?.content;
    if (!content) return undefined;
    this.text += content;
    return content;
  }

  /** True once anything the caller could have seen has arrived. */
  get hasContent(): boolean {
    return this.text.length > 0 || this.calls.length > 0;
  }

  result(fallbackModel: string): ChatResult {
    return {
      text: this.text,
      toolCalls: this.calls.map((call, i) => ({ ...call, id: call.id || `call_${i}` })),
      model: this.model || fallbackModel,
      finishReason: this.finishReason,
      ...(this.usage && { usage: this.usage }),
    };
  }

  private addToolFragment(fragment: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall): void {
    const hasIndex = typeof fragment.index === 'number';
    // Without an index, a fragment continues the call being built.
    let slot = hasIndex ? this.slotByIndex.get(fragment.index) : this.calls.length - 1;
    let call = slot === undefined ? undefined : this.calls[slot];
    if (!call || (fragment.id && call.id && fragment.id !== call.id)) {
      call = { id: '', name: '', arguments: '' };
      slot = this.calls.push(call) - 1;
      if (hasIndex) this.slotByIndex.set(fragment.index, slot);
    }
    if (fragment.id) call.id = fragment.id;
    const name = fragment.function?.name;
    if (name && name !== call.name) call.name += name;
    call.arguments += fragment.function?.arguments ?? '';
  }
}

/**
 * What the call cost in USD, when the provider says: OpenRouter adds `usage.cost` (credits,
 * which are dollars) to the OpenAI shape. Anything but a finite, non-negative number is no
 * report at all, so a server's odd field never shows as a price.
 */
export function usageCost(usage: OpenAI.CompletionUsage): number | undefined {
  const cost = (usage as { cost?: unknown }).cost;
  return typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : undefined;
}
