import { z } from 'zod';
import type { ModelInfo, RuntimeEvent } from './events.js';

/**
 * Messages between the chat webview and its extension host. The host owns state and
 * relays the runtime's events; the webview renders and sends intents. Everything the
 * webview sends is validated with `WebviewToHostSchema` before the host acts on it: the
 * webview renders model text, so it is treated as untrusted.
 */

export type ConnectionStatus = 'starting' | 'connected' | 'reconnecting' | 'error' | 'stopped';

export interface SessionListItem {
  id: string;
  title?: string;
  createdAt: string;
  turns: number;
}

export type HostToWebview =
  /** Full state: after `ready`, a reconnect or a session switch. Replaces what is shown. */
  | {
      type: 'snapshot';
      session: string;
      sessions: SessionListItem[];
      /** Events after the `lastSeq` the webview reported (all of them on a fresh view). */
      events: RuntimeEvent[];
      /** True when `events` continue from the webview's `lastSeq` rather than replace. */
      resumed: boolean;
      model: ModelInfo;
      approval: 'ask' | 'auto' | 'deny';
    }
  /** New events of the shown session, in seq order; the webview drops seqs it has. */
  | { type: 'events'; session: string; events: RuntimeEvent[] }
  | { type: 'connection'; status: ConnectionStatus; detail?: string; model?: ModelInfo }
  | { type: 'sessions'; sessions: SessionListItem[] }
  /** A problem the user should see (failed send, lost connection), in plain words. */
  | { type: 'notice'; level: 'info' | 'error'; message: string };

/** The most code an approval can carry back; a card shows all of it. */
export const MAX_APPROVAL_CODE = 1_000_000;

const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

export const WebviewToHostSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('ready'),
      session: Id.optional(),
      lastSeq: z.number().int().min(0).optional(),
    })
    .strict(),
  z.object({ type: z.literal('send'), text: z.string().trim().min(1).max(32_000) }).strict(),
  z
    .object({
      type: z.literal('action'),
      action: z.string().min(1).max(64),
      data: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  z.object({ type: z.literal('cancelTurn') }).strict(),
  /**
   * A decision on the card of a run waiting for approval, with what the card showed: the
   * host approves only if that is the code and tier it sent for this run.
   */
  z
    .object({
      type: z.literal('approve'),
      process: Id,
      decision: z.enum(['approve', 'deny']),
      code: z.string().max(MAX_APPROVAL_CODE),
      /** As the runtime named it: a tier this build does not know still has a card. */
      isolation: z.string().min(1).max(64),
    })
    .strict(),
  z.object({ type: z.literal('cancelProcess'), process: Id }).strict(),
  z.object({ type: z.literal('newSession') }).strict(),
  z.object({ type: z.literal('switchSession'), session: Id }).strict(),
  z.object({ type: z.literal('clear') }).strict(),
]);
export type WebviewToHost = z.infer<typeof WebviewToHostSchema>;
