import { z } from 'zod';

/**
 * The OpenAI chat-completions request as the bridge (lm-bridge.ts) reads it, and its
 * translation into the shape of VS Code's language-model API: what can be carried over
 * faithfully is, and what cannot is refused with a 400, never silently changed.
 */

export type LmMessage =
  | { role: 'system' | 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls: LmToolCall[] }
  | { role: 'tool'; callId: string; text: string };

export interface LmToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface LmTool {
  name: string;
  description: string;
  inputSchema?: Record<string, unknown>;
}

/** One chat request, translated from the OpenAI wire format. */
export interface LmChatRequest {
  model: string;
  messages: LmMessage[];
  tools: LmTool[];
  /** `tool_choice: "required"` asks for a tool call; anything else leaves it to the model. */
  toolMode: 'auto' | 'required';
  /** The sampling options the request carried (temperature, max_tokens), passed on as they are. */
  modelOptions: Record<string, unknown>;
}

export type LmPart = { type: 'text'; text: string } | ({ type: 'tool_call' } & LmToolCall);

/** A failure the bridge answers with `status` and an OpenAI-style error body. */
export class LmBridgeError extends Error {
  override readonly name = 'LmBridgeError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TextContentSchema = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
]);

const MessageSchema = z.discriminatedUnion('role', [
  z.looseObject({ role: z.enum(['system', 'developer', 'user']), content: TextContentSchema }),
  z.looseObject({
    role: z.literal('assistant'),
    content: TextContentSchema.nullish(),
    tool_calls: z
      .array(
        z.looseObject({
          id: z.string().min(1),
          type: z.literal('function'),
          function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
        }),
      )
      .optional(),
  }),
  z.looseObject({
    role: z.literal('tool'),
    tool_call_id: z.string().min(1),
    content: TextContentSchema,
  }),
]);

/** The request body: the fields the bridge uses are checked; others an SDK adds are ignored. */
export const ChatBodySchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.literal('function'),
        function: z.looseObject({
          name: z.string().min(1),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
      }),
    )
    .optional(),
  tool_choice: z.unknown().optional(),
  temperature: z.number().optional(),
  max_tokens: z.number().int().positive().optional(),
});

export type ChatBody = z.infer<typeof ChatBodySchema>;

/** The request for the backend; throws LmBridgeError (400) for what it cannot carry. */
export function toLmRequest(body: ChatBody): LmChatRequest {
  const messages = body.messages.map((m): LmMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', text: textOf(m.content) };
      case 'user':
        return { role: 'user', text: textOf(m.content) };
      case 'assistant':
        return {
          role: 'assistant',
          text: m.content ? textOf(m.content) : '',
          toolCalls: (m.tool_calls ?? []).map((c) => ({
            id: c.id,
            name: c.function.name,
            input: parseArguments(c.function.name, c.function.arguments),
          })),
        };
      case 'tool':
        return { role: 'tool', callId: m.tool_call_id, text: textOf(m.content) };
      default: {
        const never: never = m;
        throw new Error(`unknown role in ${JSON.stringify(never)}`);
      }
    }
  });
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== 'auto' && choice !== 'required') {
    // `none` and a named function have no equivalent in vscode.lm: refuse rather than
    // silently do something else.
    throw new LmBridgeError(
      400,
      'unsupported_tool_choice',
      `tool_choice ${JSON.stringify(choice)} is not supported by VS Code's language models; use "auto" or "required".`,
    );
  }
  const modelOptions: Record<string, unknown> = {};
  if (body.temperature !== undefined) modelOptions.temperature = body.temperature;
  if (body.max_tokens !== undefined) modelOptions.max_tokens = body.max_tokens;
  return {
    model: body.model,
    messages,
    tools: (body.tools ?? []).map((t) => ({
      name: t.function.name,
      description: t.function.description ?? '',
      ...(t.function.parameters && { inputSchema: t.function.parameters }),
    })),
    toolMode: choice === 'required' ? 'required' : 'auto',
    modelOptions,
  };
}

/** A message's text; a part that is not text (an image) is refused, not dropped. */
function textOf(content: z.infer<typeof TextContentSchema>): string {
  if (typeof content === 'string') return content;
  return content
    .map((part) => {
      if (part.type !== 'text' || part.text === undefined) {
        throw new LmBridgeError(
          400,
          'unsupported_content',
          `Message parts of type "${part.type}" are not supported; send text.`,
        );
      }
      return part.text;
    })
    .join('');
}

function parseArguments(name: string, text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new LmBridgeError(
    400,
    'invalid_tool_arguments',
    `The arguments of the call to ${name} are not a JSON object.`,
  );
}

/** A tool call as the OpenAI wire format has it. */
export function toWireCall(call: LmToolCall) {
  return {
    id: call.id,
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.input) },
  };
}
