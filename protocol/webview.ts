import { z } from 'zod';
import type { MemoryState, ModelInfo, ProcessInfo, RuntimeEvent } from './events.js';
import { CODE_LANGUAGE, MAX_CODE_ACTION } from './code-actions.js';
import { LIMITS } from './mcp.js';
import type { SessionSummary } from './results.js';
import type { AttachmentView } from './attachment-view.js';

export type { AttachmentView } from './attachment-view.js';

/**
 * Messages between the chat webview and its extension host. The host owns state and
 * relays the runtime's events; the webview renders and sends intents. Everything the
 * webview sends is validated with `WebviewToHostSchema` before the host acts on it: the
 * webview renders model text, so it is treated as untrusted.
 */

export type ConnectionStatus = 'starting' | 'connected' | 'reconnecting' | 'error' | 'stopped';

/**
 * What a snapshot that starts partway leaves out and the webview still needs. Such a
 * snapshot's `events` are a page: the latest messages, then every event of the session's
 * tail. The views that live on older events (process cards, the memory panel) start from
 * here; it is the runtime's state when the page was read, and the page's own events, applied
 * after it, bring it up to date.
 */
export interface SnapshotBase {
  /** The conversation has messages older than the first one in `events`, not sent. */
  earlier: boolean;
  /** The runs that cards in `events` show and whose own events are all older than the tail. */
  processes: ProcessInfo[];
  /** The memorizer's state, once it has remembered anything. */
  memory?: { state: MemoryState; version: number };
}

export type HostToWebview =
  /** Full state: after `ready`, a reconnect or a session switch. Replaces what is shown. */
  | {
      type: 'snapshot';
      session: string;
      sessions: SessionSummary[];
      /**
       * Resumed: every event after the `lastSeq` the webview reported. Otherwise the whole
       * session, or (with `base`) the newest page of it: seqs then increase but skip.
       */
      events: RuntimeEvent[];
      /** True when `events` continue from the webview's `lastSeq` rather than replace. */
      resumed: boolean;
      /** Set when `events` are a page rather than the whole session (never when resumed). */
      base?: SnapshotBase;
      model: ModelInfo;
      approval: 'ask' | 'auto' | 'deny';
    }
  /** New events of the shown session, in seq order; the webview drops seqs it has. */
  | { type: 'events'; session: string; events: RuntimeEvent[] }
  | { type: 'connection'; status: ConnectionStatus; detail?: string; model?: ModelInfo }
  | { type: 'sessions'; sessions: SessionSummary[] }
  /** A problem the user should see (failed send, lost connection), in plain words. */
  | { type: 'notice'; level: 'info' | 'error'; message: string }
  /** What the host holds attached for the next message: the chips above the composer. */
  | { type: 'attachments'; items: AttachmentView[] }
  /** Whether to offer "Choose a Model" (no model configured and not dismissed). */
  | { type: 'setup'; chooseModel: boolean };

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
      code: z.string().max(LIMITS.approvalCode),
      /** As the runtime named it: a tier this build does not know still has a card. */
      isolation: z.string().min(1).max(64),
    })
    .strict(),
  z.object({ type: z.literal('cancelProcess'), process: Id }).strict(),
  z.object({ type: z.literal('newSession') }).strict(),
  z.object({ type: z.literal('switchSession'), session: Id }).strict(),
  z.object({ type: z.literal('clear') }).strict(),
  /** A button on a finished code block in a reply: copy it, insert it, open it as a file. */
  z
    .object({
      type: z.literal('codeAction'),
      action: z.enum(['copy', 'insert', 'newFile']),
      code: z.string().min(1).max(MAX_CODE_ACTION),
      language: z.string().regex(CODE_LANGUAGE).optional(),
    })
    .strict(),
  /**
   * Asks the host to rename or delete a session: the host asks the user (an input box, a
   * modal warning naming the title) and acts only on their answer. No title comes from here.
   */
  z.object({ type: z.literal('renameSession'), session: Id }).strict(),
  z.object({ type: z.literal('deleteSession'), session: Id }).strict(),
  /** `@` or `#` typed at a word start: the host offers a pick of workspace files. */
  z.object({ type: z.literal('attachPick'), trigger: z.enum(['@', '#']) }).strict(),
  /** A chip's remove button: by the id the host gave it, nothing else. */
  z.object({ type: z.literal('attachRemove'), id: Id }).strict(),
  /** The first-run banner's button: the host runs Cog: Choose a Model. */
  z.object({ type: z.literal('chooseModel') }).strict(),
  /** The first-run banner was dismissed: the host remembers it and stops offering. */
  z.object({ type: z.literal('dismissChooseModel') }).strict(),
]);
export type WebviewToHost = z.infer<typeof WebviewToHostSchema>;
