import { randomBytes } from 'node:crypto';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Isolation, ProcessInfo, ProcessStatus } from '../../protocol/events.js';
import { FINAL_PROCESS_STATUSES } from '../../protocol/events.js';
import { runChild } from './child.js';
import { codeSha256 } from './code-hash.js';
import { ProcessError } from './errors.js';
import { createChildRegistry, killLeftovers } from './leftovers.js';
import { describeOutcome } from './outcome.js';
import { OutputBuffer } from './output-buffer.js';
import { StreamRedactor } from './redact.js';
import { prepareRun } from './prepare.js';
import { createTiers, type TierChoice } from './tiers.js';
import type {
  ApprovalDecision,
  ProcessLimits,
  ProcessManager,
  ProcessManagerOptions,
  RunRequest,
  RunResult,
} from './types.js';
import { DEFAULT_LIMITS } from './types.js';

type Verdict = ApprovalDecision | 'cancel';

interface Entry {
  info: ProcessInfo;
  abort: AbortController;
  output: OutputBuffer;
  /** Set while waiting for approval. */
  decide?: (verdict: Verdict) => void;
  /** Denies the run when nobody decides in time. */
  expiry?: NodeJS.Timeout;
  done?: Promise<RunResult>;
}

/** How long a run waits for a human's decision before it is denied. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 10 * 60_000;

const isFinal = (s: ProcessStatus): boolean => FINAL_PROCESS_STATUSES.includes(s);
const now = (): string => new Date().toISOString();

/** Creates a process manager; the caller owns it and must `close()` it. */
export function createProcessManager(opts: ProcessManagerOptions): ProcessManager {
  const limits: ProcessLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const events = opts.events;
  const pathEnv = opts.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const retain = opts.retain ?? 200;
  const approvalTimeoutMs = opts.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  const secrets = opts.secrets ?? (() => []);
  const entries = new Map<string, Entry>();
  let policy = opts.policy;
  let closed = false;

  // What a crashed runtime on this home left running dies before anything new starts.
  const childrenDir = opts.stateDir && join(opts.stateDir, 'children');
  if (childrenDir) killLeftovers(childrenDir);
  const children = childrenDir ? createChildRegistry(childrenDir) : undefined;
  const tiers = createTiers({
    setting: opts.sandbox ?? 'auto',
    pathEnv,
    ...(opts.stateDir && { stateDir: join(opts.stateDir, 'sandbox') }),
  });

  const snapshot = (e: Entry): ProcessInfo => ({ ...e.info });
  // A throwing listener must not strand a process half-way through its lifecycle.
  const notify = (what: string, call: () => void): void => {
    try {
      call();
    } catch (err) {
      console.error(`cog: process ${what} listener failed:`, err);
    }
  };
  const emit = (e: Entry): void => notify('update', () => events.onUpdate(snapshot(e)));

  function newId(): string {
    let id: string;
    do id = `p-${randomBytes(4).toString('hex')}`;
    while (entries.has(id));
    return id;
  }

  function finish(e: Entry, status: ProcessStatus, reason?: string, exitCode?: number | null) {
    e.info.status = status;
    if (reason !== undefined) e.info.reason = reason;
    if (exitCode !== undefined) e.info.exitCode = exitCode;
    e.info.endedAt = now();
    e.info.outputBytes = e.output.bytes;
    e.info.truncated = e.output.truncated;
    e.decide = undefined;
    emit(e);
    forgetOldest();
  }

  function forgetOldest(): void {
    const finished = [...entries.values()].filter((x) => isFinal(x.info.status));
    for (const x of finished.slice(0, Math.max(0, finished.length - retain))) {
      entries.delete(x.info.id);
    }
  }

  /** Applies a verdict synchronously, so approve() can return the new state. */
  function settleApproval(e: Entry, verdict: Verdict, reason = 'denied by the user'): void {
    const decide = e.decide;
    if (!decide) return;
    clearTimeout(e.expiry);
    if (verdict === 'approve') {
      e.info.status = 'running';
      e.decide = undefined;
      emit(e);
    } else if (verdict === 'deny') {
      finish(e, 'denied', reason);
    } else {
      finish(e, 'cancelled', 'cancelled before it started');
    }
    decide(verdict);
  }

  async function execute(e: Entry, req: RunRequest, choice: TierChoice): Promise<void> {
    if ('error' in choice) return finish(e, 'failed', choice.error);
    const workspace = await prepareWorkspace(req.workspace);
    const shared = req.shared ? await prepareWorkspace(req.shared) : undefined;
    if (e.abort.signal.aborted) return finish(e, 'cancelled', 'cancelled before it started');
    const prepared = prepareRun(choice, req, {
      workspace,
      pathEnv,
      limits,
      ...(shared ? { shared } : {}),
    });
    if ('error' in prepared) return finish(e, 'failed', prepared.error);
    const redactor = new StreamRedactor(secrets);
    const record = (stream: 'stdout' | 'stderr', text: string, rawBytes: number) => {
      const kept = e.output.push(text, rawBytes);
      if (kept) notify('output', () => events.onOutput(e.info.id, stream, kept));
    };
    let pid: number | undefined;
    const outcome = await runChild({
      command: prepared.command,
      cwd: prepared.cwd,
      env: prepared.env,
      stdin: prepared.stdin,
      timeoutMs: limits.timeoutMs,
      stopAfterBytes: limits.stopOutputBytes,
      signal: e.abort.signal,
      onSpawn: (childPid) => {
        pid = childPid;
        if (pid !== undefined) children?.add(pid);
        e.info.startedAt = now();
        emit(e);
      },
      onOutput: (stream, text, rawBytes) => record(stream, redactor.push(text), rawBytes),
    });
    if (pid !== undefined) children?.remove(pid);
    const rest = redactor.end();
    if (rest) record('stdout', rest, 0);
    const [status, reason, code] = describeOutcome(outcome, limits);
    finish(e, status, reason, code);
  }

  /** Where the run starts: pending a human, refused, or running. */
  function initialStatus(choice: TierChoice): ProcessStatus {
    if (policy === 'deny') return 'denied';
    if (policy === 'ask') return 'pending-approval';
    // `auto` never runs uncontained code unasked, unless COG_SANDBOX=none said so.
    if ('tier' in choice && choice.tier === 'none' && !tiers.allowUnsandboxed) {
      return 'pending-approval';
    }
    return 'running';
  }

  async function run(req: RunRequest): Promise<RunResult> {
    const choice = await tiers.choose(req.language);
    // Checked after the probe too: close() may have run while it was pending.
    if (closed) throw new ProcessError('manager_closed', 'The process manager is closed.');
    const isolation: Isolation = 'tier' in choice ? choice.tier : 'none';
    const initial = initialStatus(choice);
    const e: Entry = {
      info: {
        id: newId(),
        session: req.session,
        ...(req.turn !== undefined && { turn: req.turn }),
        language: req.language,
        code: req.code,
        codeSha256: codeSha256(req.code),
        status: initial,
        isolation,
        exitCode: null,
        createdAt: now(),
        outputBytes: 0,
        truncated: false,
        ...(initial === 'pending-approval' &&
          isolation === 'none' && {
            reason: 'no sandbox works for this language here: it would run with your full rights',
          }),
      },
      abort: new AbortController(),
      output: new OutputBuffer(limits.maxOutputBytes, limits.modelOutputBytes),
    };
    entries.set(e.info.id, e);
    notify('created', () => req.onCreated?.(snapshot(e)));
    const approval =
      initial === 'pending-approval'
        ? new Promise<Verdict>((resolve) => (e.decide = resolve))
        : undefined;
    if (approval) {
      const minutes = Math.round(approvalTimeoutMs / 60_000);
      const after = minutes >= 1 ? `${minutes} min` : `${Math.round(approvalTimeoutMs / 1000)} s`;
      e.expiry = setTimeout(
        () => settleApproval(e, 'deny', `nobody approved or denied it within ${after}`),
        approvalTimeoutMs,
      );
    }
    if (initial === 'denied') {
      finish(e, 'denied', 'denied by policy');
      return { process: snapshot(e), output: '' };
    }
    emit(e);

    const onCallerAbort = (): void => void cancel(e.info.id);
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (req.signal?.aborted) onCallerAbort();
    const done = (async (): Promise<RunResult> => {
      try {
        const verdict = approval && (await approval);
        if (approval) notify('decided', () => req.onDecided?.(snapshot(e)));
        if (!approval || verdict === 'approve') await execute(e, req, choice);
      } catch (err) {
        finish(e, 'failed', `could not run: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        req.signal?.removeEventListener('abort', onCallerAbort);
      }
      return { process: snapshot(e), output: e.output.modelText() };
    })();
    e.done = done;
    return done;
  }

  function cancel(id: string): boolean {
    const e = entries.get(id);
    if (!e || isFinal(e.info.status)) return false;
    if (e.info.status === 'pending-approval') settleApproval(e, 'cancel');
    else e.abort.abort();
    return true;
  }

  return {
    run,
    cancel,
    approve(id, decision, sha, reason) {
      const e = entries.get(id);
      if (!e) throw new ProcessError('process_not_found', `No process ${id}.`);
      if (e.info.status !== 'pending-approval') {
        throw new ProcessError(
          'process_not_pending',
          `Process ${id} is ${e.info.status}, not waiting for approval.`,
        );
      }
      if (decision === 'approve' && sha?.toLowerCase() !== e.info.codeSha256) {
        throw new ProcessError(
          'approval_mismatch',
          sha === undefined
            ? `Approving ${id} needs codeSha256: the SHA-256 of the code you were shown.`
            : `codeSha256 does not match ${id}'s code: approve only the code you were shown.`,
        );
      }
      settleApproval(e, decision, reason);
      return snapshot(e);
    },
    list: (session) =>
      [...entries.values()]
        .filter((e) => session === undefined || e.info.session === session)
        .map(snapshot),
    get: (id) => {
      const e = entries.get(id);
      return e && snapshot(e);
    },
    output: (id) => entries.get(id)?.output.text(),
    pending: (session) =>
      [...entries.values()]
        .filter((e) => e.info.status === 'pending-approval')
        .filter((e) => session === undefined || e.info.session === session)
        .map(snapshot),
    setPolicy(p) {
      policy = p;
    },
    get policy() {
      return policy;
    },
    async close() {
      closed = true;
      const running = [...entries.values()].filter((e) => !isFinal(e.info.status));
      for (const e of running) cancel(e.info.id);
      await Promise.all(running.map((e) => e.done));
      tiers.close();
    },
  };
}

/** The workspace as a real path: sandboxes bind it by name. */
async function prepareWorkspace(workspace: string): Promise<string> {
  await mkdir(workspace, { recursive: true });
  return realpath(workspace);
}
