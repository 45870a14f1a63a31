import { describeIsolation, type ProcessInfo } from '../../protocol/events.js';
import type { TurnResult } from '../../protocol/results.js';
import type { Runtime, SendOptions } from '../runtime/runtime.js';
import type { Session } from '../runtime/session.js';
import type { Identity } from '../auth/identity.js';
import { requestIdentity, type CallExtra, type McpContext, type TaskHooks } from './context.js';
import { createApprovals } from './live/approvals.js';
import type { ToolReply } from './tool-kit.js';

/** A turn that answered "awaiting_approval" and goes on, with what cancels it. */
interface Awaited {
  running: Promise<TurnResult>;
  cancel: AbortController;
}

/**
 * Turns that answered "awaiting_approval" and go on: `process-approve` waits on them for
 * the rest of the turn. Per runtime, since the approving call may come on another
 * connection of the same principal.
 */
const awaiting = new WeakMap<Runtime, Map<string, Awaited>>();
/** Session ids are per principal, so the owner is part of the key. */
const keyOf = (owner: string, session: string, turn: string) =>
  `${owner}\u0000${session}\u0000${turn}`;

function awaitingOf(runtime: Runtime): Map<string, Awaited> {
  let map = awaiting.get(runtime);
  if (!map) awaiting.set(runtime, (map = new Map()));
  return map;
}

type Outcome = { done: TurnResult } | { pending: ProcessInfo };

const approvalsAskable = (ctx: McpContext) =>
  Boolean(ctx.mcp.server.getClientCapabilities()?.elicitation?.form);

/** Tells a task how a run of its turn stands: waiting for approval, or not (any more). */
function follow(task: TaskHooks, p: ProcessInfo): void {
  if (p.status === 'pending-approval') task.pending(p);
  else task.decided(p);
}

/**
 * Runs one turn for a tool call (`send` or `action`) and follows it while it runs: output
 * deltas become progress notifications when the request carries a progress token, and
 * runs waiting for approval are put to the client's human when it can be asked. A client
 * that cannot be asked (no form elicitation) gets an answer as soon as a run is pending:
 * status `awaiting_approval` with the run, and the turn goes on once `process-approve`
 * decides it. The request's signal is the turn's while the call is open, so
 * `notifications/cancelled` stops the model stream and any child process.
 *
 * As an MCP task (`extra.task`) the call holds until the turn ends, whatever the client
 * can do: a pending run makes the task `input_required` and waits for process-approve,
 * and the signal is the task's (tasks/cancel).
 */
export async function runTurn(
  ctx: McpContext,
  sessionId: string,
  extra: CallExtra,
  start: (opts: SendOptions) => Promise<TurnResult>,
  opts: { holdForApproval?: boolean } = {},
): Promise<ToolReply<TurnResult>> {
  const s = await ctx.session(sessionId);
  const task = extra.task;
  const answerEarly = !task && !approvalsAskable(ctx) && !opts.holdForApproval;
  const progressToken = extra._meta?.progressToken;
  const approvals = task ? undefined : createApprovals(ctx, extra);
  // The turn outlives this call when it answers awaiting_approval: cut the tie then.
  const cancel = new AbortController();
  const onAbort = () => cancel.abort();
  extra.signal.addEventListener('abort', onAbort, { once: true });
  let turn: string | undefined;
  let progress = 0;
  let onPending: ((p: ProcessInfo) => void) | undefined;
  const unsubscribe = await ctx.runtime.subscribe(sessionId, ctx.principal, (e) => {
    if (turn === undefined || e.turn !== turn) return;
    if (e.type === 'output.delta' && progressToken !== undefined) {
      progress += 1;
      extra
        .sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress, message: e.text },
        })
        .catch(() => undefined); // the client left; the turn ends with its signal
    } else if (e.type === 'process.updated') {
      if (task) follow(task, e.process);
      else approvals?.onProcess(e.process);
      if (answerEarly && e.process.status === 'pending-approval') onPending?.(e.process);
    }
  });
  // A task's turn outlives the connection that started it; its subscription ends with it.
  const stop = task ? unsubscribe : ctx.own(unsubscribe);
  try {
    const running = start({
      channel: channelOf(ctx),
      ...speakerOf(requestIdentity(ctx, extra)),
      signal: cancel.signal,
      onTurn: (id) => (turn = id),
    });
    const outcome = await Promise.race<Outcome>([
      running.then((done) => ({ done })),
      new Promise<Outcome>((resolve) => (onPending = (pending) => resolve({ pending }))),
    ]);
    if ('done' in outcome) return turnReply(outcome.done);
    extra.signal.removeEventListener('abort', onAbort);
    return awaitingReply(ctx.runtime, s, outcome.pending, { running, cancel });
  } finally {
    extra.signal.removeEventListener('abort', onAbort);
    approvals?.close();
    stop();
  }
}

/**
 * After `process-approve` decided a run of a turn that answered awaiting_approval: the
 * rest of that turn, or awaiting_approval again for its next run (as a task: the task is
 * input_required meanwhile, and the call holds to the end). The call's signal is the
 * turn's while it waits. Undefined when no call is waiting on the turn (it was asked
 * through elicitation, runs as a task, or has ended).
 */
export async function continueTurn(
  ctx: McpContext,
  p: ProcessInfo,
  extra: CallExtra,
): Promise<ToolReply<TurnResult> | undefined> {
  if (!p.turn) return undefined;
  const map = awaitingOf(ctx.runtime);
  const key = keyOf(ctx.principal, p.session, p.turn);
  const awaited = map.get(key);
  if (!awaited) return undefined;
  map.delete(key);
  const { running, cancel } = awaited;
  const s = await ctx.session(p.session);
  const task = extra.task;
  const onAbort = () => cancel.abort();
  extra.signal.addEventListener('abort', onAbort, { once: true });
  let onPending: ((q: ProcessInfo) => void) | undefined;
  const unsubscribe = await ctx.runtime.subscribe(p.session, ctx.principal, (e) => {
    if (e.type !== 'process.updated' || e.turn !== p.turn) return;
    if (task) follow(task, e.process);
    else if (e.process.status === 'pending-approval') onPending?.(e.process);
  });
  const stop = task ? unsubscribe : ctx.own(unsubscribe);
  try {
    const outcome = await Promise.race<Outcome>([
      running.then((done) => ({ done })),
      new Promise<Outcome>((resolve) => (onPending = (pending) => resolve({ pending }))),
    ]);
    if ('done' in outcome) return turnReply(outcome.done);
    extra.signal.removeEventListener('abort', onAbort);
    return awaitingReply(ctx.runtime, s, outcome.pending, awaited);
  } finally {
    extra.signal.removeEventListener('abort', onAbort);
    stop();
  }
}

function awaitingReply(
  runtime: Runtime,
  s: Session,
  p: ProcessInfo,
  awaited: Awaited,
): ToolReply<TurnResult> {
  const turn = p.turn ?? '';
  const map = awaitingOf(runtime);
  const key = keyOf(s.owner, s.id, turn);
  map.set(key, awaited);
  // Once the turn ends nobody needs to wait on it; a later approve just reports the run.
  const forget = () => {
    setTimeout(() => map.get(key) === awaited && map.delete(key), 60_000).unref();
  };
  awaited.running.then(forget, forget);
  const call = JSON.stringify({ process: p.id, decision: 'approve', codeSha256: p.codeSha256 });
  return {
    data: {
      session: s.id,
      turn,
      status: 'awaiting_approval',
      text: '',
      controls: [],
      processes: [{ id: p.id, status: p.status }],
      model: runtime.modelInfo,
      timing: { firstTokenMs: null, totalMs: 0, callsBeforeFirstToken: 0, modelCalls: 0 },
      pending: p,
    },
    text:
      `Waiting for approval: process ${p.id} wants to run ${p.language} code, ` +
      `${describeIsolation(p.isolation)}:\n\n${p.code}\n\n` +
      `Show it to the human. To run it call process-approve with ${call} ` +
      `(or "decision": "deny"); its result is the rest of this turn (session ${s.id}, turn ${turn}). ` +
      'Undecided, it is denied after a while and the turn goes on without it.',
  };
}

function turnReply(result: TurnResult): ToolReply<TurnResult> {
  const data = result;
  const label = result.model.offline ? ' · offline engine' : '';
  const where = `(session ${result.session}, turn ${result.turn}${label})`;
  if (result.status === 'error') {
    return {
      data,
      text: `The turn failed: ${result.error ?? 'unknown error'} ${where}. The session keeps working: try again, or read \`trace\` for details.`,
      isError: true,
    };
  }
  const shown = [result.text, ...extrasOf(result)].filter(Boolean).join('\n\n');
  if (result.status === 'cancelled') {
    return { data, text: `[cancelled] ${shown}\n\n${where}`, cancelled: true };
  }
  return { data, text: `${shown}\n\n${where}` };
}

/** The reply's controls and runs in words, so a reader of `content` alone knows of them. */
function extrasOf(r: TurnResult): string[] {
  const lines = r.controls.map((c) => {
    switch (c.type) {
      case 'table':
        return `Table${c.title ? ` "${c.title}"` : ''}: ${c.rows.length} row(s) of ${c.columns.join(', ')}.`;
      case 'button': {
        const press = { session: r.session, action: c.action, ...(c.data ? { data: c.data } : {}) };
        return `Button "${c.label}": to press it, call \`action\` with ${JSON.stringify(press)}.`;
      }
      case 'process':
        return `Process card: ${c.processId}.`;
    }
  });
  if (r.processes.length) {
    lines.push(`Code runs: ${r.processes.map((p) => `${p.id} ${p.status}`).join(', ')}.`);
  }
  return lines;
}

/** The verified name and email the nodes see as the speaker (never the token). */
function speakerOf(identity: Identity): { speaker?: { name?: string; email?: string } } {
  const { name, email } = identity;
  if (!name && !email) return {};
  return { speaker: { ...(name ? { name } : {}), ...(email ? { email } : {}) } };
}

/**
 * Where the message comes from, as the Input node reads it: the surface and the client's
 * own name ("mcp (claude-code)"). The name is the client's to choose, so only a short run
 * of plain characters of it is kept.
 */
function channelOf(ctx: McpContext): string {
  const name = ctx.mcp.server.getClientVersion()?.name ?? '';
  const plain = name
    .replace(/[^A-Za-z0-9 ._@/-]/g, '')
    .trim()
    .slice(0, 64);
  return plain ? `${ctx.channel} (${plain})` : ctx.channel;
}
