import { randomUUID } from 'node:crypto';
import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import type { ProcessInfo } from '../../protocol/events.js';
import type { Runtime } from '../runtime/runtime.js';

/** Longest a task is kept, counted from its creation; a longer requested ttl gets this. */
export const TASK_TTL_MAX_MS = 60 * 60_000;
/** Shortest: a requested ttl below it gets this, so a task lives long enough to be read. */
export const TASK_TTL_MIN_MS = 1000;
/** How many tasks one principal holds; past it the oldest finished one is dropped. */
export const TASKS_PER_PRINCIPAL = 100;
/** What tasks/get suggests between polls. */
export const TASK_POLL_INTERVAL_MS = 500;
/** Tasks per tasks/list page. */
export const TASK_PAGE_SIZE = 50;

/** How a task's run ended: the tool's result, or the JSON-RPC error the call would have been. */
export type TaskOutcome = { result: CallToolResult; cancelled: boolean } | { error: McpError };

export const isTerminal = (status: Task['status']) =>
  status === 'completed' || status === 'failed' || status === 'cancelled';

/** One task: its wire state, the run behind it and who hears of its changes. */
export interface TaskEntry {
  readonly principal: string;
  /** Creation order within the registry: what tasks/list pages by. */
  readonly seq: number;
  readonly expiresAt: number;
  /** The wire state; replaced (never mutated) on every change, so snapshots stay true. */
  task: Task;
  /** Aborted by tasks/cancel: the run's signal, so it reaches the model stream and children. */
  readonly abort: AbortController;
  /** Settles once the run has ended; never rejects. */
  readonly outcome: Promise<TaskOutcome>;
  /** Runs of the task's turn waiting for approval, by process id, oldest first. */
  readonly pending: Map<string, ProcessInfo>;
  /** Told every change of `task` (status notifications to the connection that asked). */
  readonly listeners: Set<(task: Task) => void>;
}

/**
 * The tasks of one runtime, by principal. A task belongs to the principal that created it:
 * another principal's ids are simply not there, exactly like ids that never existed.
 * Tasks outlive connections (a turn does too), so this is per runtime, not per connection.
 * An expired task is gone for lookups at once and dropped from memory by a timer.
 */
export class TaskRegistry {
  private readonly byPrincipal = new Map<string, Map<string, TaskEntry>>();
  private seq = 0;

  /**
   * A new `working` task running `start`, or an error when the principal already holds its
   * cap of unfinished ones.
   */
  create(
    principal: string,
    requestedTtl: number | undefined,
    statusMessage: string,
    start: (entry: TaskEntry) => Promise<TaskOutcome>,
  ): TaskEntry {
    const now = Date.now();
    const held = [...(this.byPrincipal.get(principal)?.values() ?? [])];
    for (const e of held) if (e.expiresAt <= now) this.drop(e);
    const live = held.filter((e) => e.expiresAt > now);
    if (live.length >= TASKS_PER_PRINCIPAL) {
      const oldestDone = live.find((e) => isTerminal(e.task.status));
      if (!oldestDone) {
        throw new McpError(
          ErrorCode.InvalidRequest,
          `You have ${TASKS_PER_PRINCIPAL} unfinished tasks, the most one principal may hold: ` +
            'wait for some to finish (tasks/list), or cancel them with tasks/cancel.',
        );
      }
      this.drop(oldestDone);
    }
    const ttl = Math.min(
      TASK_TTL_MAX_MS,
      Math.max(TASK_TTL_MIN_MS, Math.round(requestedTtl ?? TASK_TTL_MAX_MS)),
    );
    const at = new Date(now).toISOString();
    // `outcome` is set from `start` before anyone else sees the entry.
    const entry: Omit<TaskEntry, 'outcome'> & { outcome?: Promise<TaskOutcome> } = {
      principal,
      seq: ++this.seq,
      expiresAt: now + ttl,
      task: {
        taskId: randomUUID(),
        status: 'working',
        statusMessage,
        createdAt: at,
        lastUpdatedAt: at,
        ttl,
        pollInterval: TASK_POLL_INTERVAL_MS,
      },
      abort: new AbortController(),
      pending: new Map(),
      listeners: new Set(),
    };
    entry.outcome = start(entry as TaskEntry);
    const created = entry as TaskEntry;
    this.own(principal).set(created.task.taskId, created);
    // Lookups check expiresAt themselves; the timer only frees the memory.
    setTimeout(() => this.drop(created), ttl + 1000).unref();
    return created;
  }

  /** The principal's task, or undefined (unknown, expired, or someone else's: all alike). */
  get(principal: string, taskId: string): TaskEntry | undefined {
    const entry = this.byPrincipal.get(principal)?.get(taskId);
    if (entry && entry.expiresAt <= Date.now()) {
      this.drop(entry);
      return undefined;
    }
    return entry;
  }

  /** The principal's live tasks in creation order, a page after `afterSeq`. */
  list(principal: string, afterSeq: number): { tasks: TaskEntry[]; more: boolean } {
    const now = Date.now();
    const live = [...(this.byPrincipal.get(principal)?.values() ?? [])].filter(
      (e) => e.expiresAt > now && e.seq > afterSeq,
    );
    return { tasks: live.slice(0, TASK_PAGE_SIZE), more: live.length > TASK_PAGE_SIZE };
  }

  /** Moves a task on. False, and nothing changes, once it is terminal (it stays as it is). */
  update(entry: TaskEntry, status: Task['status'], statusMessage: string): boolean {
    if (isTerminal(entry.task.status)) return false;
    entry.task = { ...entry.task, status, statusMessage, lastUpdatedAt: new Date().toISOString() };
    for (const listener of entry.listeners) listener(entry.task);
    return true;
  }

  private own(principal: string): Map<string, TaskEntry> {
    let own = this.byPrincipal.get(principal);
    if (!own) this.byPrincipal.set(principal, (own = new Map()));
    return own;
  }

  private drop(entry: TaskEntry): void {
    const own = this.byPrincipal.get(entry.principal);
    if (own?.get(entry.task.taskId) !== entry) return;
    own.delete(entry.task.taskId);
    entry.listeners.clear();
    if (own.size === 0) this.byPrincipal.delete(entry.principal);
  }
}

const registries = new WeakMap<Runtime, TaskRegistry>();

/** The runtime's tasks: shared by all its connections, so a principal polls from any. */
export function tasksOf(runtime: Runtime): TaskRegistry {
  let registry = registries.get(runtime);
  if (!registry) registries.set(runtime, (registry = new TaskRegistry()));
  return registry;
}
