import type { RuntimeEvent } from '../../../protocol/events.js';
import type { NodeName } from '../../../protocol/names.js';
import type { CogConfig } from '../../config.js';
import type { Runtime } from '../../runtime/runtime.js';

/** Colours for a terminal that wants them: a TTY, and no NO_COLOR (https://no-color.org). */
export interface Paint {
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  yellow(s: string): string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (code: string) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    dim: wrap('2'),
    bold: wrap('1'),
    red: wrap('31'),
    cyan: wrap('36'),
    yellow: wrap('33'),
  };
}

export function colourWanted(tty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return tty && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** The nodes that call a model in each pipeline mode (server/runtime/pipeline.ts). */
const CALLED: Record<CogConfig['pipeline'], NodeName[]> = {
  // The Thinker streams the reply itself: the Output node's model is never called.
  fast: ['input', 'thinker', 'memorizer'],
  faithful: ['input', 'thinker', 'output', 'memorizer'],
};

/** What will answer, in one line: only the models this mode calls, grouped by model. */
export function modelLine(runtime: Pick<Runtime, 'modelInfo' | 'config'>): string {
  const m = runtime.modelInfo;
  if (m.offline) {
    return runtime.config.offlineForced
      ? 'offline engine (COG_OFFLINE=1; unset it to use the configured model)'
      : 'offline engine (no model configured: set COG_LLM_BASE_URL and COG_MODEL, or OPENROUTER_API_KEY)';
  }
  const byModel = new Map<string, NodeName[]>();
  for (const node of CALLED[runtime.config.pipeline]) {
    const model = m.models[node];
    byModel.set(model, [...(byModel.get(model) ?? []), node]);
  }
  const models = [...byModel].map(([model, nodes]) => `${nodes.join('+')} ${model}`).join(', ');
  return `${m.baseUrl} · ${models}`;
}

export function banner(runtime: Runtime, session: string): string {
  const c = runtime.config;
  return (
    `cog · ${modelLine(runtime)}\n` +
    `  session ${session} · pipeline ${c.pipeline} · approval ${c.approval} · /help for commands\n`
  );
}

/** One compact HUD line for an event, or nothing for events the chat shows otherwise. */
export function hudLine(e: RuntimeEvent): string | undefined {
  switch (e.type) {
    case 'node.thinking':
      return `${e.node}: ${e.detail}`;
    case 'node.context':
      // The second report of a call: the provider's own count, beside Cog's.
      if (e.usage) return `${e.node}: the provider counted ${e.usage.promptTokens} prompt tokens`;
      return `${e.node}: context ${e.tokens}/${e.budget} tokens (${e.fillPct}%)${e.trimmed ? `, ${e.trimmed} trimmed` : ''}`;
    case 'node.perceived':
      return `input: ${e.perception}`;
    case 'node.decided':
      return `thinker: ${e.summary}`;
    case 'node.done':
      return `${e.node}: done in ${e.ms} ms`;
    case 'node.error':
      return `${e.node}: error ${e.code}: ${e.message}`;
    case 'process.updated':
      return `process ${e.process.id} (${e.process.language}, ${e.process.isolation}): ${e.process.status}${e.process.reason ? ` (${e.process.reason})` : ''}`;
    case 'memory.updated':
      return e.changes.length ? `memorizer: v${e.version} ${e.changes.join('; ')}` : undefined;
    case 'sensor.tick': {
      const changed = Object.entries(e.deltas);
      return changed.length
        ? `sensor: ${changed.map(([k, v]) => `${k} ${v}`).join(', ')}`
        : undefined;
    }
    case 'turn.queued':
      return `queued behind ${e.position} turn(s)`;
    case 'controls':
      return e.controls
        .map((c) =>
          c.type === 'button'
            ? `control: [${c.label}] → ${c.action}`
            : c.type === 'table'
              ? `control: table ${c.columns.join(' | ')} (${c.rows.length} rows)`
              : `control: process card ${c.processId}`,
        )
        .join('\n');
    default:
      return undefined;
  }
}

export function renderTable(columns: string[], rows: unknown[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? '' : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [
    line(cells[0]),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.slice(1).map(line),
  ].join('\n');
}
