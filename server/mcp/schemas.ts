import { z } from 'zod';
import { BUSY_POLICIES } from '../config.js';
import { ISOLATIONS } from '../../protocol/events.js';
import type {
  EventSource,
  ProcessStatus,
  RuntimeEventType,
  TurnStatus,
} from '../../protocol/events.js';

/**
 * Output shapes of Cog's MCP tools and resources. They are what clients validate
 * `structuredContent` against, so every object here strips what it does not name.
 */

export const EVENT_SOURCES = [
  'input',
  'thinker',
  'output',
  'memorizer',
  'sensor',
  'process',
  'runtime',
  'user',
] as const satisfies readonly EventSource[];

export const EVENT_TYPES = [
  'session.created',
  'session.cleared',
  'turn.queued',
  'turn.started',
  'turn.done',
  'user.message',
  'assistant.message',
  'output.delta',
  'node.thinking',
  'node.context',
  'node.perceived',
  'node.decided',
  'node.streaming',
  'node.done',
  'node.error',
  'controls',
  'process.updated',
  'process.output',
  'memory.updated',
  'sensor.tick',
] as const satisfies readonly RuntimeEventType[];

// Both lists must name every member of their union: a new event type fails type-checking here.
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : Exclude<All, Listed>;
const allTypes: Missing<RuntimeEventType, (typeof EVENT_TYPES)[number]> = true;
const allSources: Missing<EventSource, (typeof EVENT_SOURCES)[number]> = true;
void allTypes;
void allSources;

const PROCESS_STATUSES = [
  'pending-approval',
  'running',
  'done',
  'failed',
  'cancelled',
  'timed-out',
  'denied',
  'interrupted',
] as const satisfies readonly ProcessStatus[];

const TURN_STATUSES = ['ok', 'error', 'cancelled'] as const satisfies readonly TurnStatus[];
/** A tool result's turn status: a turn's, or "awaiting_approval" (it goes on once decided). */
const RESULT_STATUSES = [...TURN_STATUSES, 'awaiting_approval'] as const;

export const SessionIdSchema = z.string().min(1).max(64).describe('A session id, e.g. "s-1a2b3c"');

/** `send` and `action`: what the message does when the session is busy. */
export const IfBusySchema = z
  .enum(BUSY_POLICIES)
  .optional()
  .describe(
    'when a turn is running: "queue" waits its turn, "interrupt" cancels it first, "reject" refuses; default from config (queue)',
  );

/** `send` and `action`: hold the call open through approvals (a client with its own cards). */
export const AwaitApprovalSchema = z
  .boolean()
  .optional()
  .describe(
    'true: keep this call open while a run waits for approval (for a client that shows its own approval UI and calls process-approve); default: answer awaiting_approval at once',
  );
export const ProcessIdSchema = z
  .string()
  .min(1)
  .max(64)
  .describe('A process id, e.g. "p-1a2b3c4d"');

export const ModelInfoOut = z.object({
  offline: z.boolean().describe('true when the offline engine answers (no model configured)'),
  models: z.record(z.string(), z.string()).describe('model per node'),
  baseUrl: z.string().optional(),
});

export const TimingOut = z.object({
  firstTokenMs: z.number().nullable(),
  totalMs: z.number(),
  callsBeforeFirstToken: z.number(),
  modelCalls: z.number(),
});

export const ProcessOut = z.object({
  id: z.string(),
  session: z.string(),
  turn: z.string().optional(),
  language: z.string(),
  code: z.string(),
  codeSha256: z.string().describe('SHA-256 of code; process-approve needs it to approve'),
  status: z.enum(PROCESS_STATUSES),
  isolation: z
    .enum(ISOLATIONS)
    .describe('how it is contained: bubblewrap, namespaces, wasm, or none (not sandboxed)'),
  exitCode: z.number().nullable(),
  reason: z.string().optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  outputBytes: z.number(),
  truncated: z.boolean(),
});

/** What `send` and `action` return: one turn, start to end (or until it needs a human). */
export const TurnOut = z.object({
  session: z.string(),
  turn: z.string(),
  status: z
    .enum(RESULT_STATUSES)
    .describe(
      'awaiting_approval: a code run needs a decision (see `pending`); call process-approve, whose result is the rest of the turn',
    ),
  text: z.string().describe('the reply'),
  controls: z
    .array(z.looseObject({ type: z.string() }))
    .describe('interactive controls shown with the reply; a click comes back through `action`'),
  processes: z
    .array(z.object({ id: z.string(), status: z.enum(PROCESS_STATUSES) }))
    .describe('code runs started by this turn'),
  model: ModelInfoOut,
  timing: TimingOut,
  error: z.string().optional(),
  pending: ProcessOut.optional().describe('with awaiting_approval: the run waiting for a decision'),
});

export const SessionOut = z.object({
  id: z.string(),
  title: z.string().optional(),
  createdAt: z.string(),
  lastSeq: z.number(),
  turns: z.number(),
  busy: z.boolean(),
});

/** One event of the log; the members beyond the envelope depend on `type`. */
export const EventOut = z.looseObject({
  seq: z.number(),
  ts: z.string(),
  session: z.string(),
  node: z.string(),
  type: z.string(),
  turn: z.string().optional(),
});

export const MemoryOut = z.looseObject({
  user_name: z.string().nullable(),
  user_mood: z.string(),
  topic: z.string().nullable(),
  topic_history: z.array(z.string()),
  situation: z.string(),
  language: z.string(),
  style_hint: z.string(),
  facts: z.array(z.string()),
});

export const StateOut = z.object({
  session: z.string(),
  title: z.string().optional(),
  memory: MemoryOut,
  memoryVersion: z.number(),
  sensor: z
    .object({ seq: z.number(), ts: z.string(), readings: z.record(z.string(), z.string()) })
    .nullable()
    .describe('the latest sensor readings, or null before the first tick'),
  busy: z.boolean(),
  queued: z.number().describe('turns running or waiting'),
  lastSeq: z.number(),
  turns: z.number(),
  model: ModelInfoOut,
  context: z
    .record(
      z.string(),
      z.object({
        seq: z.number(),
        tokens: z.number().describe('Cog’s count of the last call’s prompt, tool schemas included'),
        budget: z.number(),
        fillPct: z.number(),
        toolTokens: z.number().optional(),
        usage: z
          .object({
            promptTokens: z.number(),
            completionTokens: z.number(),
            cachedTokens: z.number().optional(),
          })
          .optional()
          .describe('what the provider reported for that call'),
      }),
    )
    .describe('per node: its latest context fill'),
});

export const MessageOut = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  seq: z.number(),
  ts: z.string(),
  turn: z.string().optional(),
  action: z.object({ action: z.string(), data: z.unknown().optional() }).optional(),
  controls: z.array(z.looseObject({ type: z.string() })).optional(),
});

export const HistoryOut = z.object({
  session: z.string(),
  messages: z.array(MessageOut),
  hasMore: z.boolean().describe('older messages exist before the first one returned'),
});

export const TraceOut = z.object({
  session: z.string(),
  events: z.array(EventOut),
  next_seq: z.number().describe('pass as since_seq to continue'),
  has_more: z.boolean(),
});

export type TurnOutput = z.output<typeof TurnOut>;
export type StateOutput = z.output<typeof StateOut>;
export type HistoryOutput = z.output<typeof HistoryOut>;
export type TraceOutput = z.output<typeof TraceOut>;
export type SessionOutput = z.output<typeof SessionOut>;
