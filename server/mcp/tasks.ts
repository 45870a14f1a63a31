import {
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type CallToolResult,
  type CreateTaskResult,
  type ServerCapabilities,
  type ServerNotification,
  type Task,
  type TaskMetadata,
} from '@modelcontextprotocol/sdk/types.js';
import { describeIsolation, type ProcessInfo } from '../../protocol/events.js';
import type { CallExtra, McpContext, RequestExtra } from './context.js';
import { internalError } from './errors.js';
import { setStrictHandler } from './requests.js';
import {
  isTerminal,
  TASK_TTL_MAX_MS,
  tasksOf,
  type TaskEntry,
  type TaskOutcome,
  type TaskRegistry,
} from './tasks-store.js';

/**
 * Long calls as MCP Tasks (2025-11-25; the SDK calls its side "experimental"). A tool that
 * declares `taskSupport` answers a task-augmented tools/call at once with a CreateTaskResult
 * and runs on; the client polls tasks/get and reads tasks/result.
 *
 * Cog answers tasks/* itself rather than through the SDK's TaskStore: a task belongs to a
 * principal (not to a transport session), lives in the runtime so that any connection of
 * that principal can poll it, and its cancel has to reach the turn.
 *
 * Status: `working` while the turn runs; `input_required` while a run of it waits for
 * approval (the statusMessage names the process and the process-approve call); then
 * `completed`, `failed` (an isError result, or a JSON-RPC error) or `cancelled` (tasks/cancel,
 * or a turn that ended cancelled). A task never asks through elicitation: the SDK delivers a
 * task's elicitation only inside a tasks/result of the same connection, whereas a task here
 * outlives its connection and is approved from whichever connection the human uses.
 */

/** The server's `tasks` capability: list, cancel, and task-augmented tools/call. */
export const TASKS_CAPABILITY: NonNullable<ServerCapabilities['tasks']> = {
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
};

/** How long tasks/cancel waits for the turn to unwind before it answers anyway. */
const CANCEL_SETTLE_MS = 3000;
const MAX_CODE_CHARS = 1000;
const WORKING = 'The turn is running.';

/** Registers tasks/get, tasks/result, tasks/list and tasks/cancel for this connection. */
export function registerTasks(ctx: McpContext): void {
  const registry = tasksOf(ctx.runtime);
  const find = (taskId: string): TaskEntry => {
    const entry = registry.get(ctx.principal, taskId);
    if (entry) return entry;
    // The same answer for an id that never existed, has expired, or is someone else's.
    throw new McpError(
      ErrorCode.InvalidParams,
      `No task ${taskId}. Tasks are kept up to ${TASK_TTL_MAX_MS / 60_000} minutes (their ttl); ` +
        'tasks/list shows yours.',
    );
  };

  setStrictHandler(ctx.mcp, 'tasks/get', GetTaskRequestSchema, ({ params }) => ({
    ...find(params.taskId).task,
  }));

  setStrictHandler(ctx.mcp, 'tasks/result', GetTaskPayloadRequestSchema, async (req, extra) => {
    const { taskId } = req.params;
    // Blocks while the task runs, as the spec asks; the client's cancel ends the wait.
    const outcome = await untilAborted(find(taskId).outcome, extra.signal);
    if ('error' in outcome) throw outcome.error;
    const meta = { ...outcome.result._meta, [RELATED_TASK_META_KEY]: { taskId } };
    return { ...outcome.result, _meta: meta };
  });

  setStrictHandler(ctx.mcp, 'tasks/list', ListTasksRequestSchema, ({ params }) => {
    const cursor = params?.cursor;
    if (cursor !== undefined && !/^[1-9]\d{0,15}$/.test(cursor)) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid cursor for tasks/list: "${cursor}".`);
    }
    const page = registry.list(ctx.principal, cursor === undefined ? 0 : Number(cursor));
    const last = page.tasks.at(-1);
    return {
      tasks: page.tasks.map((e) => ({ ...e.task })),
      ...(page.more && last ? { nextCursor: String(last.seq) } : {}),
    };
  });

  setStrictHandler(ctx.mcp, 'tasks/cancel', CancelTaskRequestSchema, async (req, extra) => {
    const entry = find(req.params.taskId);
    const message =
      'Cancelled by tasks/cancel: the turn and its code runs were stopped; tasks/result has what it said before it stopped.';
    if (!registry.update(entry, 'cancelled', message)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Cannot cancel task ${req.params.taskId}: it is already ${entry.task.status}.`,
      );
    }
    entry.abort.abort();
    // Answer once the turn has unwound (its processes final), or after a bound regardless.
    await untilAborted(Promise.race([entry.outcome, delay(CANCEL_SETTLE_MS)]), extra.signal);
    return { ...entry.task };
  });
}

/**
 * Starts `run` as a task of this connection's principal and answers with its
 * CreateTaskResult at once; see taskExtra for what the run gets instead of the request's.
 */
export function startTask(
  ctx: McpContext,
  params: TaskMetadata,
  extra: RequestExtra,
  run: (extra: CallExtra) => Promise<{ result: CallToolResult; cancelled: boolean }>,
): CreateTaskResult {
  const registry = tasksOf(ctx.runtime);
  const entry = registry.create(ctx.principal, params.ttl, WORKING, (e) =>
    run(taskExtra(ctx, e, extra, registry)).then(
      (called): TaskOutcome => called,
      (err: unknown): TaskOutcome => ({
        error: err instanceof McpError ? err : internalError('Task', err),
      }),
    ),
  );
  const { taskId } = entry.task;
  // Status notifications go to the connection that asked for the task, while it is open.
  const notify = (task: Task) => {
    ctx.mcp.server
      .notification({ method: 'notifications/tasks/status', params: task })
      .catch(() => undefined);
  };
  entry.listeners.add(notify);
  const unlisten = ctx.own(() => entry.listeners.delete(notify));
  void entry.outcome.then((outcome) => {
    finish(registry, entry, outcome);
    unlisten();
  });
  return {
    task: { ...entry.task },
    _meta: {
      'io.modelcontextprotocol/model-immediate-response':
        `Cog is working on it as task ${taskId}: tasks/get tells how it goes, tasks/result ` +
        'gives the result once it is done. If a code run needs approval the task says so ' +
        '(input_required) and names the process-approve call to make.',
    },
  };
}

/**
 * The run's extra as a task: the task's signal (tasks/cancel) instead of the request's,
 * which ends with the CreateTaskResult; notifications related to the task; and hooks that
 * make the task input_required while a run of its turn waits for approval.
 */
function taskExtra(
  ctx: McpContext,
  entry: TaskEntry,
  extra: RequestExtra,
  registry: TaskRegistry,
): CallExtra {
  const { taskId } = entry.task;
  return {
    ...extra,
    signal: entry.abort.signal,
    sendNotification: (n) => ctx.mcp.server.notification(relatedTo(n, taskId)),
    task: {
      pending(p) {
        if (entry.pending.has(p.id)) return;
        entry.pending.set(p.id, p);
        if (entry.pending.size === 1) registry.update(entry, 'input_required', approvalNeeded(p));
      },
      decided(p) {
        if (!entry.pending.delete(p.id)) return;
        const next = entry.pending.values().next();
        if (next.done) registry.update(entry, 'working', WORKING);
        else registry.update(entry, 'input_required', approvalNeeded(next.value));
      },
    },
  };
}

/** The task's final status from how its run ended; a cancelled task stays cancelled. */
function finish(registry: TaskRegistry, entry: TaskEntry, outcome: TaskOutcome): void {
  const update = (status: Task['status'], message: string) =>
    registry.update(entry, status, message);
  if (isTerminal(entry.task.status)) return;
  if ('error' in outcome) update('failed', outcome.error.message);
  else if (outcome.result.isError) update('failed', firstText(outcome.result));
  else if (outcome.cancelled)
    update('cancelled', 'The turn was cancelled (cleared, interrupted, or Cog shut down).');
  else update('completed', 'Done: tasks/result has the result.');
}

/** What a human (or the agent relaying to one) needs to decide the waiting run. */
function approvalNeeded(p: ProcessInfo): string {
  const code =
    p.code.length > MAX_CODE_CHARS ? `${p.code.slice(0, MAX_CODE_CHARS)}\n… (truncated)` : p.code;
  const call = JSON.stringify({ process: p.id, decision: 'approve', codeSha256: p.codeSha256 });
  return (
    `Waiting for approval: process ${p.id} wants to run ${p.language} code, ` +
    `${describeIsolation(p.isolation)}:\n\n${code}\n\n` +
    `Show it to the human. To run it call process-approve with ${call} (or "decision": "deny"); ` +
    'the task then goes on. Undecided, it is denied after a while and the turn goes on without it.'
  );
}

function firstText(result: CallToolResult): string {
  const first = result.content[0];
  const text = first?.type === 'text' ? first.text : 'The tool failed.';
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}

/** The notification with related-task metadata, as the spec asks of a task's messages. */
function relatedTo(n: ServerNotification, taskId: string): ServerNotification {
  const params = (n.params ?? {}) as Record<string, unknown> & { _meta?: object };
  return {
    ...n,
    params: { ...params, _meta: { ...params._meta, [RELATED_TASK_META_KEY]: { taskId } } },
  } as ServerNotification;
}

/** The promise, or a rejection once the request waiting on it is cancelled (nothing is sent). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const cancelled = () => new McpError(ErrorCode.ConnectionClosed, 'The request was cancelled.');
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
