import { z } from 'zod';
import { AttachedRefSchema } from './attached.js';
import { ControlViewSchema } from './controls.js';
import {
  ActionRefSchema,
  MemoryStateSchema,
  ModelInfoSchema,
  ProcessInfoSchema,
  RuntimeEventSchema,
  TurnTimingSchema,
  UsageSchema,
} from './events.js';
import { BUSY_POLICIES, NODE_NAMES, PROCESS_STATUSES, TURN_STATUSES } from './names.js';

/**
 * What Cog's MCP tools and resources return, one zod definition each: the server registers
 * them as output schemas and checks every result against them; the extension and the tests
 * parse with them. Objects strip what they do not name.
 */

export const SessionIdSchema = z.string().min(1).max(64).describe('A session id, e.g. "s-1a2b3c"');

export const ProcessIdSchema = z
  .string()
  .min(1)
  .max(64)
  .describe('A process id, e.g. "p-1a2b3c4d"');

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

/** A tool result's turn status: a turn's, or "awaiting_approval" (it goes on once decided). */
export const RESULT_STATUSES = [...TURN_STATUSES, 'awaiting_approval'] as const;

/** What `send` and `action` return: one turn, start to end (or until it needs a human). */
export const TurnResultSchema = z.object({
  session: z.string(),
  turn: z.string(),
  status: z
    .enum(RESULT_STATUSES)
    .describe(
      'awaiting_approval: a code run needs a decision (see `pending`); call process-approve, whose result is the rest of the turn',
    ),
  text: z.string().describe('the reply'),
  controls: z
    .array(ControlViewSchema)
    .describe(
      'interactive controls shown with the reply; press a button by calling `action` with its action (and data)',
    ),
  processes: z
    .array(z.object({ id: z.string(), status: z.enum(PROCESS_STATUSES) }))
    .describe('code runs started by this turn'),
  model: ModelInfoSchema,
  timing: TurnTimingSchema,
  error: z.string().optional(),
  pending: ProcessInfoSchema.optional().describe(
    'with awaiting_approval: the run waiting for a decision',
  ),
});
export type TurnResult = z.output<typeof TurnResultSchema>;

/** One session as lists show it. */
export const SessionSummarySchema = z.object({
  id: z.string(),
  title: z.string().optional(),
  createdAt: z.string(),
  lastSeq: z.number(),
  turns: z.number(),
  busy: z.boolean(),
});
export type SessionSummary = z.output<typeof SessionSummarySchema>;

export const SessionsResultSchema = z.object({
  sessions: z.array(SessionSummarySchema),
  created: SessionSummarySchema.optional(),
  deleted: z.string().optional(),
  renamed: SessionSummarySchema.optional(),
});

export const ContextFillSchema = z.object({
  seq: z.number(),
  tokens: z.number().describe('Cog’s count of the last call’s prompt, tool schemas included'),
  budget: z.number(),
  fillPct: z.number(),
  toolTokens: z.number().optional(),
  attachedTokens: z.number().optional().describe('of `tokens`, the editor context attached'),
  usage: UsageSchema.optional().describe('what the provider reported for that call'),
});
export type ContextFill = z.output<typeof ContextFillSchema>;

export const SensorReadingSchema = z.object({
  seq: z.number(),
  ts: z.string(),
  readings: z.record(z.string(), z.string()),
});
export type SensorReading = z.output<typeof SensorReadingSchema>;

export const StateViewSchema = z.object({
  session: z.string(),
  title: z.string().optional(),
  memory: MemoryStateSchema,
  memoryVersion: z.number(),
  sensor: SensorReadingSchema.nullable().describe(
    'the latest sensor readings, or null before the first tick',
  ),
  busy: z.boolean(),
  queued: z.number().describe('turns running or waiting'),
  lastSeq: z.number(),
  turns: z.number(),
  model: ModelInfoSchema,
  context: z
    .partialRecord(z.enum(NODE_NAMES), ContextFillSchema)
    .describe('per node: its latest context fill'),
});
export type StateView = z.output<typeof StateViewSchema>;

export const MessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  seq: z.number(),
  ts: z.string(),
  turn: z.string().optional(),
  action: ActionRefSchema.optional(),
  context: z.array(AttachedRefSchema).optional().describe('editor context sent with it'),
  controls: z.array(ControlViewSchema).optional(),
});
export type Message = z.output<typeof MessageSchema>;

export const HistoryPageSchema = z.object({
  session: z.string(),
  messages: z.array(MessageSchema),
  hasMore: z.boolean().describe('older messages exist before the first one returned'),
});
export type HistoryPage = z.output<typeof HistoryPageSchema>;

export const TracePageSchema = z.object({
  session: z.string(),
  events: z.array(RuntimeEventSchema),
  next_seq: z.number().describe('pass as since_seq to continue'),
  has_more: z.boolean(),
});
export type TracePage = z.output<typeof TracePageSchema>;

/** The most of a run's output `process-list` shows: its end, where a traceback is. */
export const OUTPUT_TAIL_CHARS = 2000;

/** A run as `process-list` shows it: its state and the end of what it wrote. */
export const ProcessViewSchema = ProcessInfoSchema.extend({
  output: z
    .string()
    .optional()
    .describe(
      `the end of its output (stdout and stderr, at most ${OUTPUT_TAIL_CHARS} characters); all of it is in trace as process.output events`,
    ),
});
export type ProcessView = z.output<typeof ProcessViewSchema>;

export const ProcessListSchema = z.object({ processes: z.array(ProcessViewSchema) });
export const ProcessResultSchema = z.object({ process: ProcessInfoSchema });

/** `process-approve`: the decided run and, when a turn waited on it, the rest of that turn. */
export const ApproveResultSchema = z.object({
  process: ProcessInfoSchema,
  turn: TurnResultSchema.optional().describe(
    'the turn that waited for this decision, run to its end (or to the next approval)',
  ),
});

export const ClearResultSchema = z.object({
  session: z.string(),
  cleared: z.literal(true),
  seq: z.number(),
});
