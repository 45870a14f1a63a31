import { attachedProblem, type AttachedItem } from '../../protocol/attached.js';
import type { Action } from '../../protocol/controls.js';
import type { EventDraft, ModelInfo, NodeName, TurnStatus } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import type { BusyPolicy } from '../../protocol/names.js';
import type { ModelClient } from '../llm/types.js';
import type { EventStore, WorkspaceSync } from '../store/types.js';
import type { ProcessManager } from '../processes/types.js';
import { StoreError } from '../store/errors.js';
import { RuntimeError, isCoded } from './errors.js';
import { attachedRefs } from './attached.js';
import { checkShare, listShared, writeShared } from './shared-files.js';
import { loadTokenizer } from './context.js';
import { diffMemory, distill, renderMemory } from './nodes/memorizer.js';
import { firstMessageTitle, topicTitle } from './titles.js';
import { causeOf, codeOf, messageOf, runPipeline } from './pipeline.js';
import type { TurnResult } from '../../protocol/results.js';
import type { PrincipalGate } from './principal-limits.js';
import type { Sensor } from './sensor.js';
import type { ClusterLink } from './cluster-link.js';
import type { Session } from './session.js';

export interface SendOptions {
  /** Where the message came from, for the Input node ("terminal", "mcp", …). */
  channel?: string;
  /** Cancels this turn (an MCP request's signal, say). */
  signal?: AbortSignal;
  /** Told the turn's id as soon as it is named, before any of its events is recorded. */
  onTurn?(turn: string): void;
  /** A message while a turn runs (double-texting); default: the configured policy. */
  ifBusy?: BusyPolicy;
  /** Who is speaking, from a verified sign-in (never a token): the nodes see it. */
  speaker?: { name?: string; email?: string };
  /**
   * Editor context sent with the message (selections, files). The Thinker's prompt holds
   * the text for this turn; the log keeps labels and token counts.
   */
  context?: readonly AttachedItem[];
}

/** The speaker as the Input node reads it: a verified name and email, and the principal. */
function speakerOf(owner: string, speaker: SendOptions['speaker']): string {
  const name = speaker?.name?.trim();
  const email = speaker?.email?.trim();
  if (!name && !email) return owner;
  return `${[name, email ? `<${email}>` : ''].filter(Boolean).join(' ')} (signed in as ${owner})`;
}

export interface TurnDeps {
  config: CogConfig;
  model: ModelClient;
  modelInfo: ModelInfo;
  sensor: Sensor;
  processes: ProcessManager;
  /** Each principal's share: turns at once, code runs at once. */
  gate: PrincipalGate;
  store: EventStore;
  /** Makes the session's log durable and snapshots its projections. */
  persist(s: Session): Promise<void>;
  /** Holds the session for writes across instances (cluster-link.ts); local: a no-op. */
  hold: ClusterLink['hold'];
  /** Fires when the runtime closes: every turn and memorizer update ends. */
  closing: AbortSignal;
  now(): number;
  workspace(session: string): string;
  /** The session's shared files, read-only to its code runs (shared-files.ts). */
  shared(session: string): string;
  assertOpen(): void;
}

const MAX_MESSAGE_CHARS = 32_000;

/**
 * Turns of a session: queued one after another, each run through the pipeline, recorded,
 * flushed at its end, and followed (off the critical path) by a memorizer update.
 */
export function createTurns(deps: TurnDeps) {
  const {
    config,
    model,
    modelInfo,
    sensor,
    processes,
    gate,
    store,
    closing,
    now,
    workspace,
    shared,
    assertOpen,
  } = deps;

  async function submit(
    s: Session,
    owner: string,
    text: string,
    opts: SendOptions,
    action?: Action,
  ): Promise<TurnResult> {
    assertOpen();
    if (typeof text !== 'string' || !text.trim())
      throw new RuntimeError('invalid_input', 'The message is empty.');
    if (text.length > MAX_MESSAGE_CHARS) {
      throw new RuntimeError(
        'invalid_input',
        `The message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}.`,
      );
    }
    const attachedWrong = opts.context ? attachedProblem(opts.context) : undefined;
    if (attachedWrong) throw new RuntimeError('invalid_input', attachedWrong);
    if (opts.context) await checkShare(shared(s.key), opts.context);
    // After a full disk: a new message is the moment to look for space again.
    if (store.full && !(await store.recover())) {
      throw new StoreError(
        'store_disk_full',
        `The disk is full: session ${s.id} cannot take a message until space is freed.`,
      );
    }
    const ifBusy = opts.ifBusy ?? config.ifBusy;
    // With a shared store, first the session's lease: another instance's turn is waited
    // for (queue, interrupt) or refused (reject). Alone, nothing to wait for: no await,
    // so the checks below and the enqueue stay one step.
    const hold = deps.hold(s, {
      wait: ifBusy !== 'reject',
      interrupt: ifBusy === 'interrupt',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const held = hold instanceof Promise ? await hold : hold;
    let release: () => void;
    try {
      if (s.work.busy && ifBusy === 'reject') {
        throw new RuntimeError(
          'session_busy',
          `Session ${s.id} is busy with a turn (${s.work.queued} running or queued).`,
        );
      }
      if (s.work.busy && ifBusy === 'interrupt') s.work.cancel();
      release = gate.admitTurn(owner, s.key);
    } catch (err) {
      void held();
      throw err;
    }
    sensor.wake(s.key);
    const turn = s.nextTurnId();
    opts.onTurn?.(turn);
    const signals = [closing, ...(opts.signal ? [opts.signal] : [])];
    const { position, done } = s.work.enqueue(turn, signals, (signal) =>
      execute(s, owner, turn, text, signal, opts, action),
    );
    void done.then(release, release);
    // The lease covers the turn and the work after it (memorizer, snapshot).
    void done
      .then(
        () => s.work.followed(),
        () => s.work.followed(),
      )
      .finally(() => void held());
    if (position > 0) s.record({ type: 'turn.queued', node: 'runtime', turn, position });
    return done;
  }

  async function execute(
    s: Session,
    owner: string,
    turn: string,
    text: string,
    signal: AbortSignal,
    opts: SendOptions,
    action?: Action,
  ): Promise<TurnResult> {
    let partial = '';
    const emit = (draft: EventDraft) => {
      const e = s.record({ ...draft, turn } as EventDraft);
      if (e.type === 'output.delta') partial += e.text;
      return e;
    };
    // The digest covers what happened while the user was away, so it is read before
    // the new message resets the idle clock.
    const digest = sensor.digest(s.key);
    const attached = opts.context?.length ? opts.context : undefined;
    if (attached) await loadTokenizer();
    const sharedDir = shared(s.key);
    if (attached) await writeShared(sharedDir, attached);
    const sharedFiles = await listShared(sharedDir);
    emit({
      type: 'user.message',
      node: 'user',
      text,
      ...(attached ? { context: attachedRefs(attached) } : {}),
      ...(action
        ? { action: { action: action.action, ...(action.data ? { data: action.data } : {}) } }
        : {}),
    });
    // The session's, not the turn's: a title outlives what the turn did.
    if (!s.title && !action) {
      s.record({
        type: 'session.titled',
        node: 'runtime',
        title: firstMessageTitle(text),
        source: 'first-message',
      });
    }
    emit({ type: 'turn.started', node: 'runtime', mode: config.pipeline });
    seedName(s, turn, opts.speaker?.name);
    const started = now();
    let status: TurnStatus = 'ok';
    let error: string | undefined;
    let output = {
      text: '',
      controls: [] as TurnResult['controls'],
      processes: [] as string[],
      timing: {
        firstTokenMs: null as number | null,
        totalMs: 0,
        callsBeforeFirstToken: 0,
        modelCalls: 0,
      },
      after: Promise.resolve(),
    };
    /** Set when the log itself failed: only the events that end the turn are tried. */
    let storeFailure: StoreError | undefined;
    try {
      if (signal.aborted) throw new RuntimeError('turn_cancelled', 'cancelled before it started');
      output = await runPipeline({
        turn,
        mode: config.pipeline,
        tools: config.tools,
        history: s.history,
        identity: speakerOf(owner, opts.speaker),
        channel: opts.channel ?? 'api',
        context: `${renderMemory(s.memory)}\n${digest}`,
        model,
        models: modelInfo.models,
        budgets: config.budgets,
        signal,
        emit: (node, body) => emit({ ...body, node } as EventDraft),
        ...(attached ? { attached } : {}),
        ...(sharedFiles.length ? { sharedFiles } : {}),
        runCode: async (language, code, onCreated, onDecided) => {
          const slot = await gate.runSlot(owner, signal);
          const dir = workspace(s.key);
          const sync = store.workspaces;
          try {
            // A shared store keeps the workspace: this run sees what the last one left,
            // on whichever instance it ran.
            if (sync) await sync.pull(s.key, dir);
            try {
              return await processes.run({
                session: s.key,
                turn,
                language,
                code,
                workspace: dir,
                ...(sharedFiles.length ? { shared: sharedDir } : {}),
                signal,
                onCreated,
                onDecided,
              });
            } finally {
              if (sync && !closing.aborted) await pushWorkspace(s, turn, sync, dir);
            }
          } finally {
            slot();
          }
        },
        now,
      });
    } catch (err) {
      const cause = causeOf(err);
      storeFailure = storeErrorOf(cause);
      status = signal.aborted && !storeFailure ? 'cancelled' : 'error';
      error =
        status === 'cancelled'
          ? 'The turn was cancelled.'
          : (storeFailure?.message ?? messageOf(cause));
      const reported = isCoded(err, 'node_failed');
      if (status === 'error' && (!reported || storeFailure)) {
        const code = storeFailure?.code ?? codeOf(cause);
        s.tryRecord({ type: 'node.error', node: 'runtime', turn, code, message: error }, true);
      }
      output.text = partial.trim();
      output.timing.totalMs = now() - started;
    }
    if (!storeFailure && (output.text || status === 'ok')) {
      emit({
        type: 'assistant.message',
        node: 'output',
        text: output.text,
        controls: output.controls,
        processes: output.processes,
        model: modelInfo,
      });
    }
    const done: EventDraft = {
      type: 'turn.done',
      node: 'runtime',
      turn,
      status,
      timing: output.timing,
      ...(error ? { error } : {}),
    };
    if (storeFailure) s.tryRecord(done, true);
    else emit(done);
    // The result waits for the turn to be durable (fsync), not for work it does not need:
    // the perception still running, the memorizer, the snapshot.
    await saveOrWarn(s, 'flush');
    afterTurn(s, turn, output.after, status === 'ok');
    return {
      session: s.id,
      turn,
      status,
      text: output.text,
      controls: output.controls,
      processes: output.processes.map((id) => ({
        id,
        status: s.processes.get(id)?.status ?? 'interrupted',
      })),
      model: modelInfo,
      timing: output.timing,
      ...(error ? { error } : {}),
    };
  }

  /**
   * Off the critical path, one session's after-turn work in order: the turn's unfinished
   * perception, then (for a turn that went well) the memorizer, then the snapshot. The next
   * message never waits for this.
   */
  function afterTurn(s: Session, turn: string, pending: Promise<void>, memorize: boolean) {
    s.work.after(async () => {
      await pending;
      if (memorize && !closing.aborted) await memorizeTurn(s, turn);
      await saveOrWarn(s, 'persist');
    });
  }

  /** The memorizer distils the conversation into the shared state; a failure keeps it. */
  async function memorizeTurn(s: Session, turn: string) {
    const node: NodeName = 'memorizer';
    const emit = (body: Parameters<Parameters<typeof distill>[0]['emit']>[0]) =>
      s.record({ ...body, node, turn } as EventDraft);
    const prev = s.memory;
    try {
      const next = await distill(
        {
          node,
          model,
          modelName: modelInfo.models.memorizer,
          budget: config.budgets.memorizer,
          signal: closing,
          emit,
          now,
        },
        { history: s.history, state: prev },
      );
      const changes = diffMemory(prev, next);
      emit({ type: 'memory.updated', state: next, version: s.memoryVersion + 1, changes });
      const title = topicTitle(s.meta, prev, next);
      if (title) emit({ type: 'session.titled', title, source: 'topic' });
    } catch (err) {
      const message = isCoded(err, 'memory_unparseable')
        ? `${messageOf(err)} (kept the previous state)`
        : messageOf(err);
      s.tryRecord({ type: 'node.error', node, turn, code: codeOf(err), message });
    }
  }

  /**
   * A verified sign-in names the user before the memorizer has: the shared memory starts
   * from it, as the prototype seeded it from its OIDC claims. A name already remembered
   * (the user said another) stays.
   */
  function seedName(s: Session, turn: string, name: string | undefined) {
    const user = name?.trim().slice(0, 100);
    if (!user || s.memory.user_name) return;
    s.record({
      type: 'memory.updated',
      node: 'memorizer',
      turn,
      state: { ...s.memory, user_name: user },
      version: s.memoryVersion + 1,
      changes: [`user_name: ${user} (from the verified sign-in)`],
    });
  }

  /**
   * The turn is over whether or not the disk kept up (what was shown is already written):
   * `flush` makes it durable, `persist` also snapshots the projections.
   */
  /**
   * Saves the workspace after a code run. Never throws: the run's result stands, and a
   * workspace not saved (over the cap, or the database failing) is told on the session.
   */
  async function pushWorkspace(s: Session, turn: string, sync: WorkspaceSync, dir: string) {
    try {
      const { refused } = await sync.push(s.key, dir);
      if (refused) {
        s.tryRecord({
          type: 'node.error',
          node: 'runtime',
          turn,
          code: 'workspace_too_large',
          message: refused,
        });
      }
    } catch (err) {
      s.tryRecord({
        type: 'node.error',
        node: 'runtime',
        turn,
        code: 'workspace_sync_failed',
        message: `The workspace was not saved: ${messageOf(err)}`,
      });
    }
  }

  async function saveOrWarn(s: Session, how: 'flush' | 'persist') {
    try {
      await (how === 'flush' ? s.flush() : deps.persist(s));
    } catch (err) {
      process.stderr.write(`cog: could not save session ${s.id}: ${messageOf(err)}\n`);
    }
  }

  return { submit };
}

/** The error when it came from the event log (disk full, I/O), else undefined. */
function storeErrorOf(err: unknown): StoreError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'store_disk_full' || code === 'store_write_failed')
    ? (err as StoreError)
    : undefined;
}
