import type { RuntimeEvent } from '../protocol/events.js';

/** Events kept for a reload; past this the oldest go (the view then starts later). */
const MAX_EVENTS = 5000;

/**
 * The events of the shown session that this webview holds, with the last `seq` applied.
 * What must hold: an event is applied at most once (seq ≤ lastSeq is dropped) and, as long
 * as the host sends every seq after the one reported in `ready`, none is skipped.
 */
export class EventLog {
  session: string | undefined;
  lastSeq = 0;
  events: RuntimeEvent[] = [];
  private finished = new Set<string>();

  constructor(session?: string, lastSeq = 0, events: RuntimeEvent[] = []) {
    this.session = session;
    this.lastSeq = lastSeq;
    this.events = events;
    for (const e of events) this.noteFinished(e);
  }

  reset(session: string): void {
    this.session = session;
    this.lastSeq = 0;
    this.events = [];
    this.finished.clear();
  }

  /** Records and returns the events not seen before, in seq order. */
  accept(batch: readonly RuntimeEvent[]): RuntimeEvent[] {
    const sorted = batch.every((e, i) => i === 0 || batch[i - 1].seq < e.seq)
      ? batch
      : [...batch].sort((a, b) => a.seq - b.seq);
    const fresh: RuntimeEvent[] = [];
    for (const e of sorted) {
      if (typeof e.seq !== 'number' || !(e.seq > this.lastSeq)) continue;
      if (this.session !== undefined && e.session !== this.session) continue;
      this.lastSeq = e.seq;
      fresh.push(e);
      this.events.push(e);
      this.noteFinished(e);
    }
    return fresh;
  }

  private noteFinished(e: RuntimeEvent): void {
    if ((e.type === 'assistant.message' || e.type === 'turn.done') && e.turn)
      this.finished.add(e.turn);
  }

  /**
   * Shrinks what a reload replays without changing what it shows: streamed deltas of
   * finished turns (their assistant.message has the text), all but the last sensor tick,
   * and everything before the last clear except the memory state.
   */
  compact(): void {
    let lastTick = -1;
    let lastClear = -1;
    this.events.forEach((e, i) => {
      if (e.type === 'sensor.tick') lastTick = i;
      if (e.type === 'session.cleared') lastClear = i;
    });
    let lastMemoryBeforeClear = -1;
    for (let i = lastClear - 1; i >= 0; i--) {
      if (this.events[i].type === 'memory.updated') {
        lastMemoryBeforeClear = i;
        break;
      }
    }
    const kept = this.events.filter((e, i) => {
      if (i < lastClear) return i === lastMemoryBeforeClear;
      if (e.type === 'sensor.tick') return i === lastTick;
      if (e.type === 'output.delta') return !(e.turn && this.finished.has(e.turn));
      return true;
    });
    this.events = kept.length > MAX_EVENTS ? kept.slice(-MAX_EVENTS) : kept;
  }
}
