import { z } from 'zod';
import { AttachedRefSchema } from './attached.js';
import { ControlViewSchema } from './controls.js';
import {
  EVENT_SOURCES,
  ISOLATIONS,
  LANGUAGES,
  NODE_NAMES,
  PIPELINE_MODES,
  PROCESS_STATUSES,
  TITLE_SOURCES,
  TURN_STATUSES,
} from './names.js';

/**
 * The runtime's event log, as one zod definition: the server checks what it sends with it,
 * the extension and tests parse with it, and every type below is inferred from it. Every
 * session is an append-only sequence of these; history, state, processes and the trace are
 * projections of it. `seq` strictly increases per session, so a reader resumes from the
 * last `seq` it holds. Objects strip what they do not name: nothing leaves unlisted.
 */

export * from './names.js';

const Count = z.number().int().min(0);
const Id = z.string().min(1).max(64);

export const ProcessInfoSchema = z.object({
  id: Id,
  session: Id,
  turn: z.string().optional(),
  language: z.enum(LANGUAGES),
  code: z.string(),
  codeSha256: z.string().describe('SHA-256 of code; process-approve needs it to approve'),
  status: z.enum(PROCESS_STATUSES),
  isolation: z
    .enum(ISOLATIONS)
    .describe('how it is contained: bubblewrap, namespaces, wasm, or none (not sandboxed)'),
  exitCode: z.number().int().nullable(),
  reason: z.string().optional().describe('why it ended the way it did, in words'),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  outputBytes: Count.describe('bytes of output produced, including what the cap dropped'),
  truncated: z.boolean(),
});
export type ProcessInfo = z.output<typeof ProcessInfoSchema>;

/** Where replies come from: a configured endpoint, or the offline engine. */
export const ModelInfoSchema = z.object({
  offline: z.boolean().describe('true when the offline engine answers (no model configured)'),
  models: z.record(z.enum(NODE_NAMES), z.string()).describe('model per node, or "offline"'),
  baseUrl: z.string().optional(),
});
export type ModelInfo = z.output<typeof ModelInfoSchema>;

export const MemoryStateSchema = z.object({
  user_name: z.string().nullable(),
  user_mood: z.string(),
  topic: z.string().nullable(),
  topic_history: z.array(z.string()),
  situation: z.string(),
  language: z.string(),
  style_hint: z.string(),
  facts: z.array(z.string()),
});
export type MemoryState = z.output<typeof MemoryStateSchema>;

export const TurnTimingSchema = z.object({
  firstTokenMs: z.number().nullable().describe('ms to the first output delta, if any streamed'),
  totalMs: z.number(),
  callsBeforeFirstToken: Count,
  modelCalls: Count,
});
export type TurnTiming = z.output<typeof TurnTimingSchema>;

/** What the provider says a call used, when it reports usage. */
export const UsageSchema = z.object({
  promptTokens: Count,
  completionTokens: Count,
  cachedTokens: Count.optional(),
  cost: z.number().min(0).optional().describe('USD, when the provider reports it (OpenRouter)'),
});

export const ActionRefSchema = z.object({ action: z.string(), data: z.unknown().optional() });

export const EventEnvelopeSchema = z.object({
  seq: z.number().int().min(1),
  ts: z.string().describe('ISO-8601 time the event was recorded'),
  session: Id,
  node: z.enum(EVENT_SOURCES),
  turn: z.string().optional().describe('the turn this event belongs to, when it belongs to one'),
});

/** An event type: the envelope, its `type`, and its own members. */
const body = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ ...EventEnvelopeSchema.shape, type: z.literal(type), ...shape });

const EVENT_SCHEMAS = [
  body('session.created', {
    owner: z.string(),
    title: z.string().optional(),
    titleSource: z.enum(TITLE_SOURCES).optional(),
  }),
  /** A new title: the user's (rename), the Memorizer's topic, or the first message's. */
  body('session.titled', { title: z.string().min(1).max(200), source: z.enum(TITLE_SOURCES) }),
  body('session.cleared', {}),
  body('turn.queued', { position: Count }),
  body('turn.started', { mode: z.enum(PIPELINE_MODES) }),
  body('turn.done', {
    status: z.enum(TURN_STATUSES),
    timing: TurnTimingSchema,
    error: z.string().optional(),
  }),
  body('user.message', {
    text: z.string(),
    action: ActionRefSchema.optional(),
    context: z
      .array(AttachedRefSchema)
      .optional()
      .describe('editor context sent with it: labels and token counts, not the text'),
  }),
  body('assistant.message', {
    text: z.string(),
    controls: z.array(ControlViewSchema),
    processes: z.array(z.string()),
    model: ModelInfoSchema,
  }),
  body('output.delta', { text: z.string() }),
  body('node.thinking', { detail: z.string() }),
  body('node.context', {
    tokens: Count.describe('Cog’s own count (o200k) of what it sends: messages and tool schemas'),
    budget: Count,
    fillPct: z.number(),
    messages: Count,
    trimmed: Count,
    toolTokens: Count.optional().describe('of `tokens`, the tool schemas sent with the call'),
    attachedTokens: Count.optional().describe(
      'of `tokens`, the editor context attached to the message (after trimming)',
    ),
    usage: UsageSchema.optional().describe('after the call: what the provider reported'),
  }),
  body('node.perceived', { perception: z.string() }),
  body('node.decided', {
    decision: z.enum(['direct', 'tool', 'controls']),
    summary: z.string(),
  }),
  body('node.streaming', {}),
  body('node.done', {
    /** The node's latency, without time its turn waited for a human's approval. */
    ms: z.number(),
    model: z.string(),
    /** The approval wait left out of `ms`, when there was one. */
    approvalWaitMs: z.number().optional(),
  }),
  body('node.error', { code: z.string(), message: z.string() }),
  body('controls', { controls: z.array(ControlViewSchema) }),
  body('process.updated', { process: ProcessInfoSchema }),
  body('process.output', {
    process: z.string(),
    stream: z.enum(['stdout', 'stderr']),
    text: z.string(),
  }),
  body('memory.updated', {
    state: MemoryStateSchema,
    version: Count,
    changes: z.array(z.string()),
  }),
  body('sensor.tick', {
    readings: z.record(z.string(), z.string()),
    deltas: z.record(z.string(), z.string()),
  }),
] as const;

export const RuntimeEventSchema = z.discriminatedUnion('type', EVENT_SCHEMAS);

export type RuntimeEvent = z.output<typeof RuntimeEventSchema>;
export type RuntimeEventType = RuntimeEvent['type'];
export type EventOf<T extends RuntimeEventType> = Extract<RuntimeEvent, { type: T }>;
export const EVENT_TYPES = EVENT_SCHEMAS.map((b) => b.shape.type.value);

/** Omit over each member, so narrowing on `type` keeps working. */
type OmitEach<E, K extends PropertyKey> = E extends unknown ? Omit<E, K> : never;

/** An event before the log stamps it with `seq`, `ts` and `session`. */
export type EventDraft = OmitEach<RuntimeEvent, 'seq' | 'ts' | 'session'>;
/** What a node emits: the event without its envelope (the pipeline adds node and turn). */
export type RuntimeEventBody = OmitEach<RuntimeEvent, keyof typeof EventEnvelopeSchema.shape>;

/**
 * One event as a reader got it off the wire, or undefined when it is not one this build
 * knows (a newer runtime's type, or a malformed one): a stream skips it and goes on.
 */
export function parseEvent(value: unknown): RuntimeEvent | undefined {
  const parsed = RuntimeEventSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
