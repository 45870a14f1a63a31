import { z } from 'zod';
import type { ModelInfo, RuntimeEvent } from '../protocol/events.js';

/**
 * What the extension reads from Cog's MCP tools. The runtime may be a remote server, so
 * its answers are checked before use; each schema names only what the extension relies on
 * and lets the rest through (a newer runtime may add fields).
 */

export const ModelInfoSchema = z.looseObject({
  offline: z.boolean(),
  models: z.record(z.string(), z.string()),
  baseUrl: z.string().optional(),
});

/** An event's envelope; the body is the webview's to render (it validates what it draws). */
export const EventSchema = z.looseObject({
  seq: z.number().int().min(0),
  ts: z.string(),
  session: z.string().min(1),
  node: z.string(),
  type: z.string().min(1),
  turn: z.string().optional(),
});

export function asRuntimeEvent(value: unknown): RuntimeEvent | undefined {
  const parsed = EventSchema.safeParse(value);
  return parsed.success ? (parsed.data as unknown as RuntimeEvent) : undefined;
}

export const SessionSchema = z.looseObject({
  id: z.string().min(1),
  title: z.string().optional(),
  createdAt: z.string(),
  turns: z.number(),
  lastSeq: z.number().optional(),
  busy: z.boolean().optional(),
});
export type SessionInfo = z.infer<typeof SessionSchema>;

export const SessionsResultSchema = z.looseObject({
  sessions: z.array(SessionSchema),
  /** Set by `create`. */
  created: SessionSchema.optional(),
});

/** For tools whose answer the extension does not read (approve, cancel, clear). */
export const AnyResultSchema = z.unknown();

/** `process-list`: what an approval needs of each run. */
export const ProcessListResultSchema = z.looseObject({
  processes: z.array(
    z.looseObject({
      id: z.string(),
      session: z.string(),
      language: z.string(),
      code: z.string(),
      status: z.string(),
      isolation: z.string(),
    }),
  ),
});

export const StateResultSchema = z.looseObject({
  session: z.string(),
  lastSeq: z.number(),
  busy: z.boolean(),
  model: ModelInfoSchema,
  /** The memorizer's state and its version (0: nothing remembered yet). */
  memory: z.looseObject({}).optional(),
  memoryVersion: z.number().optional(),
  /** The latest sensor tick, or null before the first. */
  sensor: z
    .looseObject({
      seq: z.number().int().min(0),
      ts: z.string(),
      readings: z.record(z.string(), z.string()),
    })
    .nullable()
    .optional(),
});
export type StateResult = z.infer<typeof StateResultSchema>;

/** `history`: the newest messages since the last clear, oldest first. */
export const HistoryResultSchema = z.looseObject({
  session: z.string(),
  messages: z.array(
    z.looseObject({
      /** `user` or `assistant`; anything else (a newer runtime) is skipped. */
      role: z.string(),
      text: z.string(),
      seq: z.number().int().min(0),
      ts: z.string(),
      turn: z.string().optional(),
      action: z.looseObject({ action: z.string(), data: z.unknown().optional() }).optional(),
      controls: z.array(z.looseObject({ type: z.string() })).optional(),
    }),
  ),
  /** Older messages exist before the first one returned. */
  hasMore: z.boolean(),
});
export type HistoryMessage = z.infer<typeof HistoryResultSchema>['messages'][number];

export const TraceResultSchema = z.looseObject({
  session: z.string(),
  events: z.array(z.unknown()),
  next_seq: z.number(),
  has_more: z.boolean().optional(),
});

export const TurnResultSchema = z.looseObject({
  session: z.string(),
  turn: z.string(),
  status: z.string(),
  text: z.string(),
  model: ModelInfoSchema,
  error: z.string().optional(),
});
export type TurnResult = z.infer<typeof TurnResultSchema>;

export function asModelInfo(m: z.infer<typeof ModelInfoSchema>): ModelInfo {
  return m as unknown as ModelInfo;
}
