import type { EventOf, RuntimeEvent, RuntimeEventType } from './events.js';
import type { SessionView } from './mcp.js';

/**
 * What each event type means to every surface, in one table: the HUD level it travels at,
 * the resources it changes, and its one-line summary (the panel's trace drawer, the
 * terminal's HUD lines). A new event type is its schema in `events.ts`, its row here, and
 * wherever it is drawn. No validator, so the webview can use it.
 */

/** The MCP logging levels Cog sends events at. */
export type HudLevel = 'debug' | 'info' | 'warning' | 'error';

export interface EventFacts<E> {
  /**
   * `notifications/message` level. Messages, deltas and controls also travel as tool
   * results and progress, and high-volume events are `debug`, so a client at `info` sees
   * a readable HUD and one at `debug` mirrors the whole log.
   */
  hud: HudLevel | ((e: E) => HudLevel);
  /** The session's resources (besides its trace, which every event changes) it changes. */
  changes: readonly (SessionView | 'sessions')[];
  /** One line of what happened. */
  summary(e: E): string;
}

type EventTable = { [T in RuntimeEventType]: EventFacts<EventOf<T>> };

const line = (value: unknown): string => {
  let s: string;
  try {
    s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.replace(/\s+/g, ' ').trim();
};

export const EVENT_TABLE: EventTable = {
  'session.created': {
    hud: 'debug',
    changes: ['sessions'],
    summary: (e) => `owner ${e.owner}${e.title ? `, "${e.title}"` : ''}`,
  },
  'session.titled': {
    hud: 'debug',
    changes: ['sessions'],
    summary: (e) => `"${e.title}" (${e.source})`,
  },
  'session.cleared': {
    hud: 'debug',
    changes: ['history', 'state', 'sessions'],
    summary: () => 'conversation cleared',
  },
  // busy and the turn count change with the next three
  'turn.queued': {
    hud: 'info',
    changes: ['state', 'sessions'],
    summary: (e) => `queued at position ${e.position}`,
  },
  'turn.started': {
    hud: 'info',
    changes: ['state', 'sessions'],
    summary: (e) => `mode ${e.mode}`,
  },
  'turn.done': {
    hud: (e) => (e.status === 'error' ? 'error' : 'info'),
    changes: ['state', 'sessions'],
    summary: (e) => `${e.status}, ${e.timing.totalMs} ms${e.error ? `: ${e.error}` : ''}`,
  },
  'user.message': {
    hud: 'debug',
    changes: ['history'],
    summary: (e) =>
      e.action ? `action ${e.action.action} ${line(e.action.data ?? '').slice(0, 80)}` : e.text,
  },
  'assistant.message': {
    hud: 'debug',
    changes: ['history'],
    summary: (e) => `${e.text.length} chars, ${e.controls.length} control(s)`,
  },
  'output.delta': { hud: 'debug', changes: [], summary: (e) => e.text },
  'node.thinking': { hud: 'info', changes: [], summary: (e) => e.detail },
  'node.context': {
    hud: 'debug',
    changes: [],
    summary: (e) =>
      `${e.tokens}/${e.budget} tokens (${e.fillPct}%), ${e.messages} msgs, ${e.trimmed} trimmed` +
      (e.usage ? `; provider: ${e.usage.promptTokens} in, ${e.usage.completionTokens} out` : ''),
  },
  'node.perceived': { hud: 'info', changes: [], summary: (e) => e.perception },
  'node.decided': { hud: 'info', changes: [], summary: (e) => `${e.decision}: ${e.summary}` },
  'node.streaming': { hud: 'info', changes: [], summary: () => 'streaming' },
  'node.done': { hud: 'info', changes: [], summary: (e) => `${e.ms} ms (${e.model})` },
  'node.error': { hud: 'error', changes: [], summary: (e) => `${e.code}: ${e.message}` },
  controls: {
    hud: 'debug',
    changes: [],
    summary: (e) => e.controls.map((c) => c.type).join(', '),
  },
  'process.updated': {
    hud: (e) =>
      e.process.status === 'failed' || e.process.status === 'timed-out' ? 'warning' : 'info',
    changes: ['processes'],
    summary: ({ process: p }) =>
      `${p.id} ${p.language} ${p.status}${p.reason ? ` (${p.reason})` : ''}`,
  },
  'process.output': {
    hud: 'debug',
    changes: [],
    summary: (e) => `${e.process} ${e.stream}: ${e.text}`,
  },
  'memory.updated': {
    hud: 'info',
    changes: ['state'],
    summary: (e) => `v${e.version}: ${e.changes.join('; ') || 'no change'}`,
  },
  'sensor.tick': {
    hud: 'debug',
    changes: ['state'],
    summary: (e) =>
      Object.entries(e.deltas)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
  },
};

function factsOf<E extends RuntimeEvent>(e: E): EventFacts<E> | undefined {
  return (EVENT_TABLE as Record<string, EventFacts<E> | undefined>)[e.type];
}

/** The level an event goes out at; `debug` for a type this build does not know. */
export function hudLevel(e: RuntimeEvent): HudLevel {
  const hud = factsOf(e)?.hud ?? 'debug';
  return typeof hud === 'function' ? hud(e) : hud;
}

/** The session's resources an event changes, besides its trace. */
export function changesOf(e: RuntimeEvent): readonly (SessionView | 'sessions')[] {
  return factsOf(e)?.changes ?? [];
}

/** An event's one-line summary (never throws: a malformed event is shown as JSON). */
export function summarize(e: RuntimeEvent): string {
  try {
    const facts = factsOf(e);
    return line(facts ? facts.summary(e) : e);
  } catch {
    return line(e);
  }
}
