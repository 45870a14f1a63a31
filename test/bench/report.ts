/**
 * How every benchmark prints: a table with a target column, each missed target marked
 * MISSED in its row, and one summary at the end of the run listing every miss, so that
 * none scrolls by unseen. Asserts nothing.
 */

export interface BenchTable {
  title: string;
  head: string[];
  rows: string[][];
  notes: string[];
  /** Leading cells that name a row, for the summary of misses (default 1). */
  keyColumns?: number;
}

/** Marks a missed target in a cell; `formatTable` collects every cell that starts with it. */
export const MISSED = 'MISSED';

/** "ok" when `value ≤ limit`, else MISSED and by how much. */
export function atMost(value: number, limit: number): string {
  if (!Number.isFinite(value)) return `${MISSED} (no value)`;
  return value <= limit ? 'ok' : `${MISSED} by ${pct(value / limit - 1)}`;
}

/** "ok" when `value ≥ limit`, else MISSED and by how much. */
export function atLeast(value: number, limit: number): string {
  if (!Number.isFinite(value)) return `${MISSED} (no value)`;
  return value >= limit ? 'ok' : `${MISSED} by ${pct(1 - value / limit)}`;
}

/** One verdict for several checks: ok when all hold, else each miss, labelled. */
export function allOf(checks: [label: string, verdict: string][]): string {
  const missed = checks.filter(([, v]) => v !== 'ok');
  if (!missed.length) return 'ok';
  return `${MISSED}: ${missed.map(([label, v]) => `${label} ${v.replace(/^MISSED:? ?/, '')}`).join('; ')}`;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;

const misses: string[] = [];

/** A table in the Markdown-ish layout every benchmark uses; records its MISSED cells. */
export function formatTable(t: BenchTable): string {
  for (const row of t.rows) {
    const key = row.slice(0, t.keyColumns ?? 1).join(' ');
    for (const [i, cell] of row.entries()) {
      if (cell.startsWith(MISSED)) misses.push(`${t.title} · ${key} · ${t.head[i]}: ${cell}`);
    }
  }
  const widths = t.head.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    '',
    t.title,
    line(t.head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...t.rows.map(line),
    ...t.notes,
    '',
  ].join('\n');
}

/** The closing lines of a run: every missed target of every table printed so far. */
export function missedSummary(): string {
  if (!misses.length) return '\nTargets: all met.\n';
  return `\nTargets MISSED (${misses.length}):\n${misses.map((m) => `  - ${m}`).join('\n')}\n`;
}
