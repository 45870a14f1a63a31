import type { MemoryState } from '../../protocol/events.js';

/**
 * The Sensor: one scheduler ticks every tracked session (the prototype ran a timer per
 * connection). A tick reads the clock, the idle time and memory changes, and reports only
 * what changed. Sessions idle past the last threshold go dormant and cost nothing.
 */

export interface SensorTarget {
  id: string;
  /** ms timestamp of the last user message. */
  lastActivity(): number;
  memory(): MemoryState;
  onTick(readings: Record<string, string>, deltas: Record<string, string>): void;
}

export interface Sensor {
  track(target: SensorTarget): void;
  untrack(id: string): void;
  /** Runs one tick for every session now (the timer calls this too). */
  tick(): void;
  /** Current readings of a session. */
  readings(id: string): Record<string, string>;
  /** A compact "since last turn" digest for prompts. Call at the start of a turn. */
  digest(id: string): string;
  close(): void;
}

/** Idle thresholds in seconds; crossing one is a reading change. */
export const IDLE_THRESHOLDS = [30, 60, 300, 600, 1800];

interface Tracked {
  target: SensorTarget;
  readings: Record<string, string>;
  /** Deltas since the last digest, oldest first. */
  pending: { name: string; value: string }[];
  idleCrossed: number;
  lastMemory: string;
  lastDigestAt: number;
}

export function createSensor(opts: { intervalMs: number; now?: () => number }): Sensor {
  const now = opts.now ?? Date.now;
  const sessions = new Map<string, Tracked>();
  let timer: ReturnType<typeof setInterval> | undefined;

  const clockReading = (t: number) => {
    const d = new Date(t);
    const hh = String(d.getHours()).padStart(2, '0');
    const mm = String(d.getMinutes()).padStart(2, '0');
    const day = d.toLocaleDateString('en-GB', { weekday: 'long' });
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${hh}:${mm} ${day}`;
  };
  const idleLabel = (s: number) => (s < 60 ? `${s}s` : `${Math.floor(s / 60)}m`);

  function tickOne(s: Tracked, t: number) {
    const deltas: Record<string, string> = {};
    const set = (name: string, value: string) => {
      if (s.readings[name] === value) return;
      s.readings[name] = value;
      deltas[name] = value;
      s.pending.push({ name, value });
    };
    set('clock', clockReading(t));

    const idleSeconds = Math.floor((t - s.target.lastActivity()) / 1000);
    let crossed = 0;
    while (crossed < IDLE_THRESHOLDS.length && idleSeconds >= IDLE_THRESHOLDS[crossed]) crossed++;
    if (crossed !== s.idleCrossed) {
      s.idleCrossed = crossed;
      set('idle', crossed ? `over ${idleLabel(IDLE_THRESHOLDS[crossed - 1])}` : 'active');
    }

    const memory = JSON.stringify(s.target.memory());
    if (memory !== s.lastMemory) {
      const before = s.lastMemory ? (JSON.parse(s.lastMemory) as Record<string, unknown>) : {};
      const after = JSON.parse(memory) as Record<string, unknown>;
      const changed = Object.keys(after).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
      );
      if (s.lastMemory && changed.length) {
        set('memory', changed.map((k) => `${k}=${JSON.stringify(after[k])}`).join(', '));
      }
      s.lastMemory = memory;
    }
    if (Object.keys(deltas).length) s.target.onTick({ ...s.readings }, deltas);
  }

  function dormant(s: Tracked, t: number) {
    const idle = (t - s.target.lastActivity()) / 1000;
    return (
      s.idleCrossed === IDLE_THRESHOLDS.length && idle > IDLE_THRESHOLDS[IDLE_THRESHOLDS.length - 1]
    );
  }

  const sensor: Sensor = {
    track(target) {
      sessions.set(target.id, {
        target,
        readings: {},
        pending: [],
        idleCrossed: 0,
        lastMemory: '',
        lastDigestAt: now(),
      });
      if (!timer) {
        timer = setInterval(() => sensor.tick(), opts.intervalMs);
        timer.unref?.();
      }
    },
    untrack(id) {
      sessions.delete(id);
      if (!sessions.size && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
    tick() {
      const t = now();
      for (const s of sessions.values()) {
        if (dormant(s, t)) continue;
        try {
          tickOne(s, t);
        } catch (err) {
          process.stderr.write(
            `cog: sensor tick failed for ${s.target.id}: ${(err as Error).message}\n`,
          );
        }
      }
    },
    readings(id) {
      return { ...sessions.get(id)?.readings };
    },
    digest(id) {
      const s = sessions.get(id);
      if (!s) return 'Sensors: none.';
      const t = now();
      tickOne(s, t);
      const lines = [`Sensors: clock ${s.readings.clock}.`];
      const since = Math.round((t - s.lastDigestAt) / 1000);
      // 'active' is this very message arriving: not news to the model.
      const changes = s.pending.filter((p) => p.name !== 'clock' && p.value !== 'active');
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
      sessions.clear();
    },
  };
  return sensor;
}
