import type { RuntimeEvent } from '../protocol/events.js';
import type { Logger } from './emitter.js';

export interface EventRelayDeps {
  /** The session the webview shows, if any. */
  shown(): string | undefined;
  /** Whether a webview is attached to post to. */
  attached(): boolean;
  /** Posts events of the shown session, in seq order. */
  post(session: string, events: RuntimeEvent[]): void;
  /** Reads the session's events after `sinceSeq` (`trace`); undefined when not connected. */
  read(session: string, sinceSeq: number): Promise<RuntimeEvent[]> | undefined;
  log: Logger;
}

/** Live events held while a job runs; past this the gap read fills in. */
const MAX_LIVE = 5000;
/** How long a finished turn's `turn.done` may take to come on the stream. */
const DONE_GRACE_MS = 1000;

/**
 * Brings the webview every event of the shown session exactly once, in `seq` order, with
 * no gaps: it drops any `seq` at or below the last one it applied.
 *
 * `cursor` is the last `seq` the webview has. Events come on one ordered live stream (the
 * runtime's `cog.hud` logging notifications, every event at `debug`); one that directly
 * follows the cursor is posted at once. While a job runs (a snapshot, a read: the serial
 * queue) they wait in `live` and are posted after it. Only a real gap is read from
 * `trace`, from the cursor: an event further ahead than the next seq, a new MCP session
 * (its stream starts afresh), or a turn of ours whose `turn.done` did not come.
 */
export class EventRelay {
  /** The last seq the webview holds for the shown session; undefined before a snapshot. */
  cursor: number | undefined;
  private jobs: Promise<void> = Promise.resolve();
  private busy = 0;
  private readQueued = false;
  private live: RuntimeEvent[] = [];
  /** The turns whose `turn.done` the webview has been sent (the newest few). */
  private readonly doneTurns = new Set<string>();

  constructor(private readonly deps: EventRelayDeps) {}

  /** One event off the live stream. */
  onEvent(e: RuntimeEvent): void {
    if (e.session !== this.deps.shown() || !this.deps.attached()) return;
    if (this.cursor !== undefined && e.seq <= this.cursor) return;
    if (this.live.length >= MAX_LIVE) this.live.shift(); // the gap read brings it back
    this.live.push(e);
    this.flush();
  }

  /** Forgets the held events (another session is shown now). */
  reset(): void {
    this.live = [];
  }

  /** Runs `job` after every earlier one: the only way anything else posts events. */
  enqueue(job: () => Promise<void>): Promise<void> {
    this.busy++;
    const run = this.jobs.then(job).finally(() => {
      this.busy--;
      this.flush();
    });
    this.jobs = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every queued job has run. */
  async settled(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.jobs;
      await last;
    } while (last !== this.jobs);
  }

  /** Reads the trace from the cursor and posts what is new; at most one waits at a time. */
  readGap(): void {
    if (this.readQueued || !this.deps.attached() || this.cursor === undefined) return;
    this.readQueued = true;
    void this.enqueue(async () => {
      this.readQueued = false;
      const session = this.deps.shown();
      const from = this.cursor;
      if (!session || from === undefined || !this.deps.attached()) return;
      const reading = this.deps.read(session, from);
      if (!reading) return;
      const events = await reading;
      // A snapshot or a switch in between moved the cursor: this read is stale.
      if (this.cursor !== from || session !== this.deps.shown()) return this.readGap();
      this.deliver(session, events);
    }).catch((err: unknown) =>
      this.deps.log.debug(`trace read: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /**
   * A turn of ours has ended, so its `turn.done` exists: if the stream has not brought it
   * soon (a notification lost with nothing after it to show the gap), read the trace.
   */
  expectDone(session: string, turn: string): void {
    const timer: unknown = setTimeout(() => {
      if (session === this.deps.shown() && !this.doneTurns.has(turn)) this.readGap();
    }, DONE_GRACE_MS);
    // Node's timers hold the process open; a browser's are numbers.
    (timer as { unref?: () => void }).unref?.();
  }

  /**
   * Posts the held events that continue from the cursor. Those at or below it are
   * dropped; one further ahead is a gap (notifications lost), read from `trace`.
   */
  private flush(): void {
    if (this.busy > 0 || this.cursor === undefined || !this.deps.attached()) return;
    const session = this.deps.shown();
    let next = this.cursor + 1;
    const waiting = this.live
      .filter((e) => e.session === session && e.seq >= next)
      .sort((a, b) => a.seq - b.seq);
    this.live = [];
    const events: RuntimeEvent[] = [];
    for (const e of waiting) {
      if (e.seq < next) continue; // the same event twice
      if (e.seq > next) {
        this.live = waiting.filter((w) => w.seq > next);
        break;
      }
      events.push(e);
      next++;
    }
    if (session && events.length) this.deliver(session, events);
    if (this.live.length) this.readGap();
  }

  private deliver(session: string, events: RuntimeEvent[]): void {
    const last = events.at(-1);
    if (!last || this.cursor === undefined) return;
    this.cursor = last.seq;
    for (const e of events) {
      if (e.type !== 'turn.done' || !e.turn) continue;
      this.doneTurns.add(e.turn);
      if (this.doneTurns.size > 50) this.doneTurns.delete([...this.doneTurns][0]);
    }
    this.deps.post(session, events);
  }
}
