/**
 * The bookkeeping of the crash driver (./crash-kill.ts): what a lane's clients saw, what
 * its log showed when read back, and the report both add up to.
 *
 * Everything the client sees is kept: `cog.hud` logging notifications (at `debug`, every
 * event), pages of `trace` read while the turn runs, progress notifications, the `send`
 * result, and the JSON lines of `cog chat --json`. After each restart the whole log is
 * read back through `trace` and held against it: "seen ⇒ durable" (server/store/file-store.ts)
 * means every seen event is there with the same seq and content, no seq ever names two
 * events, the seqs are dense, and every turn whose result came back has its `turn.done`.
 *
 * Nothing here does I/O: the driver reads the log and hands it in.
 */
import { isDeepStrictEqual } from 'node:util';
import type { TurnResult } from '../../protocol/results.js';

/** What a crash run saw, checked and found missing, summed over its lanes. */
export interface CrashReport {
  seed: number;
  kills: number;
  serveKills: number;
  chatKills: number;
  /** Distinct seqs a client saw, and how many sightings (one event seen twice counts twice). */
  eventsSeen: number;
  sightings: number;
  /** Distinct seen seqs held against the log after a restart. */
  eventsChecked: number;
  progressSeen: number;
  progressChecked: number;
  resultsReceived: number;
  resultsChecked: number;
  /** `turn.done` lines `cog chat --json` printed, and of those not in the log as printed. */
  chatTurnDonePrinted: number;
  chatTurnDoneLost: number;
  /** Seen events (or progress messages, or results' turn.done) missing from the log. */
  lost: number;
  /** Seqs that named two different events (live, or in the log before and after). */
  renumbered: number;
  /** Places where the log's seqs were not dense and increasing. */
  gaps: number;
  /** Anything else the log should not hold (a second turn.done for a turn, say). */
  anomalies: number;
  /** Where the kills landed, by what the log shows of that round's turn. */
  phases: Record<string, number>;
  /** The first problems found, in words. */
  problems: string[];
  durationMs: number;
}

/** A report with nothing counted yet. */
export function newCrashReport(seed: number): CrashReport {
  return {
    seed,
    kills: 0,
    serveKills: 0,
    chatKills: 0,
    eventsSeen: 0,
    sightings: 0,
    eventsChecked: 0,
    progressSeen: 0,
    progressChecked: 0,
    resultsReceived: 0,
    resultsChecked: 0,
    chatTurnDonePrinted: 0,
    chatTurnDoneLost: 0,
    lost: 0,
    renumbered: 0,
    gaps: 0,
    anomalies: 0,
    phases: {},
    problems: [],
    durationMs: 0,
  };
}

/** Wire events are checked as the client got them: plain JSON. */
export interface WireEvent {
  seq: number;
  type: string;
  node: string;
  session: string;
  turn?: string;
  [key: string]: unknown;
}

/** The one session every round of every lane talks to. */
export const SESSION = 'crash';
const MAX_PROBLEMS = 50;

/** One event as one client got it, in one life. */
export interface Sighting {
  event: WireEvent;
  source: 'hud' | 'trace' | 'chat';
  life: number;
}

const clip = (e: WireEvent) => JSON.stringify(e).slice(0, 300);

interface TurnFacts {
  deltas: string[];
  done: WireEvent[];
  assistant?: string;
  memorizer: boolean;
  memory: boolean;
}

/**
 * What one lane (one COG_HOME, one session) has seen, life by life (a life is one process
 * between its start and its kill), and what its log has shown when read back.
 */
export class Ledger {
  /** The log as read back, seq by seq; `checkedSeq` is how far. */
  readonly known = new Map<number, WireEvent>();
  checkedSeq = 0;
  readonly firstSeen = new Map<number, Sighting>();
  /** Sightings not yet held against the log. */
  pending: Sighting[] = [];
  results: { life: number; result: TurnResult }[] = [];
  progress: { life: number; text: string; messages: string[] }[] = [];
  kills: { life: number; text: string }[] = [];
  readonly turns = new Map<string, TurnFacts>();
  /** User message text (unique per round) to its turn. */
  readonly turnOf = new Map<string, string>();
  readonly checked = new Set<number>();
  readonly lostSeqs = new Set<number>();
  readonly renumberedSeqs = new Set<number>();
  /** What each life did and where its kill landed, for problem reports. */
  readonly labels = new Map<number, string>();
  lostOther = 0;
  sightings = 0;

  constructor(
    readonly lane: number,
    private readonly report: CrashReport,
  ) {}

  problem(life: number, text: string) {
    if (this.report.problems.length < MAX_PROBLEMS)
      this.report.problems.push(`lane ${this.lane}, checked in life ${life}: ${text}`);
  }

  private lifeOf(life: number) {
    return `life ${life} [${this.labels.get(life) ?? '?'}]`;
  }

  private seen(s: Sighting) {
    return `seen via ${s.source} in ${this.lifeOf(s.life)}: ${clip(s.event)}`;
  }

  sight(event: unknown, source: Sighting['source'], life: number) {
    const e = event as WireEvent;
    if (typeof e?.seq !== 'number' || typeof e.type !== 'string') {
      this.report.anomalies++;
      this.problem(life, `${source} delivered an event without a seq: ${JSON.stringify(event)}`);
      return;
    }
    if (e.session !== SESSION) return;
    this.sightings++;
    if (source === 'chat' && e.type === 'turn.done') this.report.chatTurnDonePrinted++;
    const s = { event: e, source, life };
    const first = this.firstSeen.get(e.seq);
    if (!first) this.firstSeen.set(e.seq, s);
    else if (!isDeepStrictEqual(first.event, e))
      this.renumbered(life, e.seq, this.seen(first), this.seen(s));
    this.pending.push(s);
  }

  private renumbered(life: number, seq: number, a: string, b: string) {
    if (!this.renumberedSeqs.has(seq))
      this.problem(life, `seq ${seq} names two events: ${a}; ${b}`);
    this.renumberedSeqs.add(seq);
  }

  private lose(life: number, s: Sighting, why: string) {
    const { seq, type } = s.event;
    if (!this.lostSeqs.has(seq))
      this.problem(life, `LOST seq ${seq} ${type}, ${this.seen(s)}: ${why}`);
    this.lostSeqs.add(seq);
  }

  private lost(life: number, text: string) {
    this.lostOther++;
    this.problem(life, `LOST ${text}`);
  }

  /** Takes the next part of the log in: dense seqs, each naming one event. */
  learn(events: WireEvent[], life: number) {
    let prev = this.checkedSeq;
    for (const e of events) {
      if ((prev > 0 && e.seq !== prev + 1) || e.seq < 1) {
        this.report.gaps++;
        this.problem(life, `the log goes from seq ${prev} to seq ${e.seq} (${e.type})`);
      }
      prev = Math.max(prev, e.seq);
      const old = this.known.get(e.seq);
      if (old) {
        if (!isDeepStrictEqual(old, e))
          this.renumbered(life, e.seq, `in the log: ${clip(old)}`, `in the log: ${clip(e)}`);
        continue;
      }
      this.known.set(e.seq, e);
      this.index(e, life);
    }
    this.checkedSeq = prev;
  }

  private index(e: WireEvent, life: number) {
    if (!e.turn) return;
    let t = this.turns.get(e.turn);
    if (!t) {
      t = { deltas: [], done: [], memorizer: false, memory: false };
      this.turns.set(e.turn, t);
    }
    if (e.type === 'user.message') this.turnOf.set(String(e.text), e.turn);
    else if (e.type === 'output.delta') t.deltas.push(String(e.text));
    else if (e.type === 'assistant.message') t.assistant = String(e.text);
    else if (e.type === 'turn.done') {
      t.done.push(e);
      if (t.done.length === 2) {
        this.report.anomalies++;
        this.problem(life, `turn ${e.turn} has two turn.done (seq ${t.done[0].seq}, ${e.seq})`);
      }
    }
    if (e.node === 'memorizer') t.memorizer = true;
    if (e.type === 'memory.updated') t.memory = true;
  }

  /**
   * After the log has been read in `life`: holds everything earlier lives saw against it.
   * Those lives are over, so what they saw is in the log by now or never will be.
   */
  settle(life: number) {
    const earlier = <T extends { life: number }>(xs: T[]) => xs.filter((x) => x.life < life);
    for (const k of earlier(this.kills)) {
      const phase = this.phaseOf(k.text);
      this.report.phases[phase] = (this.report.phases[phase] ?? 0) + 1;
      this.labels.set(k.life, `${this.labels.get(k.life)}, landed ${phase}`);
    }
    this.kills = this.kills.filter((x) => x.life >= life);

    const keep: Sighting[] = [];
    for (const s of this.pending) {
      const { seq } = s.event;
      if (seq > this.checkedSeq && s.life === life) {
        keep.push(s);
        continue;
      }
      this.checked.add(seq);
      const inLog = this.known.get(seq);
      if (seq > this.checkedSeq) this.lose(life, s, `past the end of the log (${this.checkedSeq})`);
      else if (!inLog) this.lose(life, s, 'not in the log');
      else if (!isDeepStrictEqual(inLog, s.event))
        this.renumbered(life, seq, this.seen(s), `in the log: ${clip(inLog)}`);
      const intact = inLog !== undefined && isDeepStrictEqual(inLog, s.event);
      if (s.source === 'chat' && s.event.type === 'turn.done' && !intact)
        this.report.chatTurnDoneLost++;
    }
    this.pending = keep;

    for (const { life: at, result } of earlier(this.results)) {
      this.report.resultsChecked++;
      const t = this.turns.get(result.turn);
      const done = t?.done[0];
      const what = `the send result of ${result.turn} (${result.status}) in ${this.lifeOf(at)}`;
      if (!done) this.lost(life, `${what} came back, but its turn.done is not in the log`);
      else if (done.status !== result.status)
        this.lost(life, `${what} came back, but the log's turn.done says ${String(done.status)}`);
      else if (result.status === 'ok' && t?.assistant !== result.text)
        this.lost(life, `${what} came back, but the log's assistant.message differs`);
    }
    this.results = this.results.filter((x) => x.life >= life);

    for (const p of earlier(this.progress)) {
      const turn = this.turnOf.get(p.text);
      const deltas = (turn && this.turns.get(turn)?.deltas) || [];
      p.messages.forEach((m, i) => {
        this.report.progressChecked++;
        if (deltas[i] !== m) {
          const where = turn ? `delta ${i + 1} of ${turn}` : 'in a turn';
          this.lost(life, `progress ${i + 1} in ${this.lifeOf(p.life)} is not ${where} in the log`);
        }
      });
    }
    this.progress = this.progress.filter((x) => x.life >= life);
  }

  /** Where in its turn a kill landed, as the log tells it. */
  private phaseOf(text: string): string {
    const turn = this.turnOf.get(text);
    const t = turn ? this.turns.get(turn) : undefined;
    if (!t) return 'before the turn';
    if (!t.deltas.length) return 'before the first token';
    const done = t.done[0];
    if (!done || String(done.error ?? '').startsWith('interrupted')) return 'mid-stream';
    if (!t.memorizer) return 'after turn.done';
    if (!t.memory) return 'during the memorizer';
    return 'after the memorizer';
  }
}

/** The report as a two-column table. */
export function formatCrashReport(r: CrashReport): string {
  const rows: [string, string | number][] = [
    ['seed', r.seed],
    ['kills (serve / chat)', `${r.kills} (${r.serveKills} / ${r.chatKills})`],
    ['events seen (distinct seqs)', r.eventsSeen],
    ['sightings (hud, trace, chat)', r.sightings],
    ['events checked after restart', r.eventsChecked],
    ['progress messages seen / checked', `${r.progressSeen} / ${r.progressChecked}`],
    ['send results received / checked', `${r.resultsReceived} / ${r.resultsChecked}`],
    ['chat --json turn.done printed / lost', `${r.chatTurnDonePrinted} / ${r.chatTurnDoneLost}`],
    ['lost', r.lost],
    ['renumbered', r.renumbered],
    ['gaps in the log', r.gaps],
    ['anomalies', r.anomalies],
    ...Object.entries(r.phases)
      .sort((a, b) => b[1] - a[1])
      .map(([phase, n]): [string, number] => [`  kills landing ${phase}`, n]),
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
