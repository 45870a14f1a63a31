import type { MemoryState } from '../../protocol/events.js';

/**
 * The Sensor: one scheduler for every tracked session (the prototype ran a timer per
 * connection). A tick reads the clock once, then each awake session's idle time and
 * memory version, and reports a session only when its idle band or its memory changed:
 * the clock alone is a reading, never a reason to write. A session idle past the last
 * threshold goes dormant and costs nothing until `wake`; with every session dormant the
 * timer stops.
 */

export interface SensorTarget {
  id: string;
  /** ms timestamp of the last user message. */
  lastActivity(): number;
  memory(): MemoryState;
  /** Changes whenever `memory()` does. */
  memoryVersion(): number;
  onTick(readings: Record<string, string>, deltas: Record<string, string>): void;
}

export interface Sensor {
  track(target: SensorTarget): void;
  untrack(id: string): void;
  /** The session had activity: a dormant one is ticked again. */
  wake(id: string): void;
  /** Runs one tick for every awake session now (the timer calls this too). */
  tick(): void;
  /** Current readings of a session. */
  readings(id: string): Record<string, string>;
  /** A compact "since last turn" digest for prompts. Call at the start of a turn. */
  digest(id: string): string;
  close(): void;
}

/** Idle thresholds in seconds; crossing one is a reading change. */
export const IDLE_THRESHOLDS = [30, 60, 300, 600, 1800] as const;
const LAST_THRESHOLD = 1800;

interface Tracked {
  target: SensorTarget;
  readings: Record<string, string>;
  /** Deltas since the last digest, oldest first. */
  pending: { name: string; value: string }[];
  idleCrossed: number;
  memoryVersion: number;
  memory: MemoryState | null;
  lastDigestAt: number;
}

export function clockReading(t: number): string {
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = d.toLocaleDateString('en-GB', { weekday: 'long' });
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())} ${day}`;
}

const idleLabel = (s: number) => (s < 60 ? `${s}s` : `${Math.floor(s / 60)}m`);

export function createSensor(opts: { intervalMs: number; now?: () => number }): Sensor {
  const now = opts.now ?? Date.now;
  const awake = new Map<string, Tracked>();
  const dormant = new Map<string, Tracked>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let clock = { minute: NaN, text: '' };

  /** The clock reading, formatted once per minute for all sessions. */
  function clockAt(t: number): string {
    const minute = Math.floor(t / 60_000);
    if (minute !== clock.minute) clock = { minute, text: clockReading(t) };
    return clock.text;
  }

  function schedule() {
    if (awake.size > 0 && !timer) {
      timer = setInterval(() => sensor.tick(), opts.intervalMs);
      timer.unref?.();
    } else if (awake.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  function tickOne(s: Tracked, t: number): void {
    const deltas: Record<string, string> = {};
    const set = (name: string, value: string) => {
      if (s.readings[name] === value) return;
      s.readings[name] = value;
      deltas[name] = value;
      s.pending.push({ name, value });
    };
    s.readings.clock = clockAt(t);

    const idleSeconds = Math.floor((t - s.target.lastActivity()) / 1000);
    const crossed = IDLE_THRESHOLDS.filter((threshold) => idleSeconds >= threshold);
    if (crossed.length !== s.idleCrossed) {
      s.idleCrossed = crossed.length;
      const band = crossed.at(-1);
      set('idle', band === undefined ? 'active' : `over ${idleLabel(band)}`);
    }

    const version = s.target.memoryVersion();
    if (version !== s.memoryVersion) {
      const after = s.target.memory();
      const before = s.memory;
      s.memoryVersion = version;
      s.memory = after;
      if (before) {
        const changed = (Object.keys(after) as (keyof MemoryState)[]).filter(
          (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
        );
        if (changed.length) {
          set('memory', changed.map((k) => `${k}=${JSON.stringify(after[k])}`).join(', '));
        }
      }
    }
    if (Object.keys(deltas).length) s.target.onTick({ ...s.readings }, deltas);
  }

  const isDormant = (s: Tracked, t: number) =>
    s.idleCrossed === IDLE_THRESHOLDS.length &&
    (t - s.target.lastActivity()) / 1000 > LAST_THRESHOLD;

  const find = (id: string) => awake.get(id) ?? dormant.get(id);

  const sensor: Sensor = {
    track(target) {
      const t = now();
      // Where the session already is (loaded after a long idle, say) is a reading, not a
      // change: it goes into the next digest but writes no tick, so a load costs no write.
      const band = IDLE_THRESHOLDS.filter((s) => (t - target.lastActivity()) / 1000 >= s);
      const idle = band.length ? `over ${idleLabel(band[band.length - 1] ?? 0)}` : 'active';
      const tracked: Tracked = {
        target,
        readings: { idle },
        pending: band.length ? [{ name: 'idle', value: idle }] : [],
        idleCrossed: band.length,
        memoryVersion: target.memoryVersion(),
        memory: target.memory(),
        lastDigestAt: t,
      };
      (isDormant(tracked, t) ? dormant : awake).set(target.id, tracked);
      schedule();
    },
    untrack(id) {
      awake.delete(id);
      dormant.delete(id);
      schedule();
    },
    wake(id) {
      const s = dormant.get(id);
      if (!s) return;
      dormant.delete(id);
      awake.set(id, s);
      schedule();
    },
    tick() {
      const t = now();
      for (const [id, s] of awake) {
        try {
          tickOne(s, t);
        } catch (err) {
          process.stderr.write(`cog: sensor tick failed for ${id}: ${(err as Error).message}\n`);
        }
        if (isDormant(s, t)) {
          awake.delete(id);
          dormant.set(id, s);
        }
      }
      schedule();
    },
    readings(id) {
      const s = find(id);
      if (s) s.readings.clock = clockAt(now());
      return { ...s?.readings };
    },
    digest(id) {
      const s = find(id);
      if (!s) return 'Sensors: none.';
      const t = now();
      tickOne(s, t);
      const lines = [`Sensors: clock ${s.readings.clock}.`];
      const since = Math.round((t - s.lastDigestAt) / 1000);
      // 'active' is this very message arriving: not news to the model.
      const changes = s.pending.filter((p) => p.value !== 'active');
      if (changes.length) {
        const text = changes.map((p) => `${p.name} ${p.value}`).join('; ');
        lines.push(`Since last turn (${idleLabel(since)} ago): ${text}.`);
      }
      s.pending = [];
      s.lastDigestAt = t;
      return lines.join('\n');
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      awake.clear();
      dormant.clear();
    },
  };
  return sensor;
}
