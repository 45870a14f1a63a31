/**
 * What each isolation tier costs: wall time of `print(1)` (median of 20, the same run for
 * every tier, alternating), the WebAssembly runners' cold start, and the peak memory of
 * one run. Prints a table; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Isolation, Language } from '../../protocol/events.js';
import { createProcessManager } from '../../server/processes/process-manager.js';
import { prepareRun } from '../../server/processes/prepare.js';
import { createTiers } from '../../server/processes/tiers.js';
import { DEFAULT_LIMITS } from '../../server/processes/types.js';
import type { BenchTable } from './report.js';

const RUNS = Number(process.env.BENCH_SANDBOX_RUNS ?? 20);
const TIERS: Isolation[] = ['none', 'bubblewrap', 'namespaces', 'wasm'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Wall time of each run of `code`, in ms, per tier, alternating tiers run by run. */
async function timings(language: Language, code: string): Promise<Map<Isolation, number[]>> {
  const root = mkdtempSync(join(tmpdir(), 'cog-bench-sandbox-'));
  const managers = new Map(
    TIERS.map((tier) => [
      tier,
      createProcessManager({
        policy: 'auto',
        sandbox: tier,
        events: { onUpdate() {}, onOutput() {} },
      }),
    ]),
  );
  const out = new Map<Isolation, number[]>(TIERS.map((t) => [t, []]));
  try {
    for (let i = 0; i <= RUNS; i++) {
      for (const tier of TIERS) {
        const t0 = performance.now();
        const r = await managers.get(tier)!.run({
          session: 'bench',
          language,
          code,
          workspace: join(root, tier),
        });
        const ms = performance.now() - t0;
        if (r.process.status !== 'done')
          throw new Error(`${tier}: ${r.process.reason} ${r.output}`);
        if (i > 0) out.get(tier)!.push(ms); // the first run of each warms its probe up
      }
    }
  } finally {
    for (const m of managers.values()) await m.close();
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

/**
 * Peak RSS (MiB) of one run's process tree: the kernel's ru_maxrss over waited-for
 * children, read by a small wrapper that spawns the tier's exact command.
 */
async function peakRssMiB(tier: Isolation, language: Language, code: string): Promise<number> {
  const tiers = createTiers({ setting: tier, pathEnv: process.env.PATH ?? '' });
  const workspace = mkdtempSync(join(tmpdir(), 'cog-bench-rss-'));
  try {
    const choice = await tiers.choose(language);
    if ('error' in choice) return NaN;
    const run = prepareRun(
      choice,
      { session: 'bench', language, code, workspace },
      { workspace, pathEnv: process.env.PATH ?? '', limits: DEFAULT_LIMITS },
    );
    if ('error' in run) return NaN;
    const wrapper =
      'import resource, subprocess, sys\n' +
      'subprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), capture_output=True)\n' +
      'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
    const r = spawnSync(
      '/usr/bin/python3',
      ['-c', wrapper, run.command.file, ...run.command.args],
      {
        input: run.stdin,
        cwd: run.cwd,
        env: run.env,
        encoding: 'utf8',
      },
    );
    return Number(r.stdout.trim()) / 1024;
  } finally {
    tiers.close();
    rmSync(workspace, { recursive: true, force: true });
  }
}

export async function benchSandbox(): Promise<BenchTable[]> {
  const py = await timings('python', 'print(1)');
  const js = await timings('javascript', 'console.log(1)');
  const rows: string[][] = [];
  for (const tier of TIERS) {
    const p = median(py.get(tier)!);
    const j = median(js.get(tier)!);
    const base = median(py.get('none')!);
    const rss = await peakRssMiB(tier, 'python', 'print(1)');
    rows.push([
      tier,
      p.toFixed(1),
      (p - base).toFixed(1),
      j.toFixed(1),
      `${rss.toFixed(1)} MiB`,
      'none set',
    ]);
  }
  return [
    {
      title: `Isolation tiers: one run, median of ${RUNS} (python print(1), javascript console.log(1))`,
      head: [
        'tier',
        'python ms',
        'python overhead vs none',
        'javascript ms',
        'peak RSS (python)',
        'target',
      ],
      rows,
      notes: [
        `limits: ${JSON.stringify(DEFAULT_LIMITS)}`,
        'No targets in the issue for the tiers: these say what each costs.',
      ],
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { formatTable } = await import('./report.js');
  for (const t of await benchSandbox()) process.stdout.write(formatTable(t));
}
