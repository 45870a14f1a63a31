/**
 * Extension activation time in a real VS Code 1.100 (code-server's extension host): the
 * extension-host suite is run a few times and its "activated in N ms" line (code loading
 * plus activate()) is collected. Returns table rows; prints them when run alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildSuite,
  ensureExtensionBuilt,
  requireVscodeE2e,
  root,
} from '../extension/build-suite.js';
import { vscodeExtTest } from '../helpers/code-server.js';
import { formatTable, type BenchTable } from './report.js';

const RUNS = Number(process.env.BENCH_EXTENSION_RUNS ?? 3);

async function activationOnce(suite: string): Promise<{ activation: number; focus: number }> {
  const folder = mkdtempSync(join(tmpdir(), 'cog-bench-ext-'));
  try {
    const child = spawn(
      vscodeExtTest,
      ['--dev', root, '--tests', suite, '--folder', folder, '--timeout', '180000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const m = /activated in ([\d.]+) ms .*?view focus to active: (\d+) ms/.exec(out);
    if (code !== 0 || !m) throw new Error(`extension-host suite failed (exit ${code})`);
    return { activation: Number(m[1]), focus: Number(m[2]) };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export async function benchExtension(): Promise<string[][]> {
  requireVscodeE2e();
  await ensureExtensionBuilt();
  const suite = await buildSuite();
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await activationOnce(suite));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return [
    [
      'activation (bundle load + activate())',
      `${median(runs.map((r) => r.activation)).toFixed(1)} ms`,
      `${RUNS} runs, median`,
    ],
    [
      'view focus → extension active',
      `${median(runs.map((r) => r.focus))} ms`,
      `${RUNS} runs, median`,
    ],
  ];
}

/** The rows as a table; no targets were set for activation. */
export async function extensionTable(): Promise<BenchTable> {
  return {
    title: 'Extension in VS Code 1.100.3 (code-server)',
    head: ['extension', 'value', 'note', 'target'],
    rows: (await benchExtension()).map((r) => [...r, 'none set']),
    notes: [],
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  process.stdout.write(formatTable(await extensionTable()));
}
