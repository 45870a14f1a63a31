import type { RuntimeEvent } from '../../protocol/events.js';
import { compact } from '../format.js';

/** One line per event for the trace drawer. */
export function summarize(e: RuntimeEvent): string {
  switch (e.type) {
    case 'session.created':
      return `owner ${e.owner}${e.title ? `, "${e.title}"` : ''}`;
    case 'session.cleared':
      return 'conversation cleared';
    case 'turn.queued':
      return `queued at position ${e.position}`;
    case 'turn.started':
      return `mode ${e.mode}`;
    case 'turn.done':
      return `${e.status}, ${e.timing?.totalMs ?? '?'} ms${e.error ? `: ${e.error}` : ''}`;
    case 'user.message':
      return e.action ? `action ${e.action.action} ${compact(e.action.data ?? '', 80)}` : e.text;
    case 'assistant.message':
      return `${e.text.length} chars, ${e.controls?.length ?? 0} control(s)`;
    case 'output.delta':
      return e.text;
    case 'node.thinking':
      return e.detail;
    case 'node.context':
      return `${e.tokens}/${e.budget} tokens (${e.fillPct}%), ${e.messages} msgs, ${e.trimmed} trimmed`;
    case 'node.perceived':
      return e.perception;
    case 'node.decided':
      return `${e.decision}: ${e.summary}`;
    case 'node.streaming':
      return 'streaming';
    case 'node.done':
      return `${e.ms} ms (${e.model})`;
    case 'node.error':
      return `${e.code}: ${e.message}`;
    case 'controls':
      return e.controls.map((c) => c.type).join(', ');
    case 'process.updated':
      return `${e.process.id} ${e.process.language} ${e.process.status}${e.process.reason ? ` (${e.process.reason})` : ''}`;
    case 'process.output':
      return `${e.process} ${e.stream}: ${e.text}`;
    case 'memory.updated':
      return `v${e.version}: ${e.changes.join('; ') || 'no change'}`;
    case 'sensor.tick':
      return Object.entries(e.deltas ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
    default: {
      const unknown: never = e;
      return compact(unknown);
    }
  }
}
