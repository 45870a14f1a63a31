/**
 * Cold start, spawn to first answer: `cog mcp` against the MCP reference server
 * (`@modelcontextprotocol/server-everything`, stdio), the two alternating run by run so
 * that load from elsewhere on the machine falls on both alike; and the commands that start
 * no runtime (`cog --version`, `cog --help`) beside bare `node`. Each command is also run
 * once with a module-load hook to count the JavaScript it loads: what a start has to read
 * and compile. Returns tables; asserts nothing.
 *
 * BENCH_COLD_RUNS (default 20) sets the measured runs per command, after one that warms
 * the file cache.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cogBin, cogEnv, ensureBuilt, root } from '../helpers/cog-process.js';
import { atMost, formatTable, type BenchTable } from './report.js';

const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20);
const TIMEOUT_MS = 20_000;

const require = createRequire(import.meta.url);
/** The reference server's own bin: dist/index.js, which picks its transport from argv. */
const referenceBin = join(
  require.resolve('@modelcontextprotocol/server-everything/package.json'),
  '..',
  'dist',
  'index.js',
);

const INITIALIZE = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'cog-bench-cold', version: '0.0.0' },
  },
})}\n`;

interface Command {
  label: string;
  args: string[];
  /** Answers `initialize` on stdin (timed to its first stdout line), or exits (timed to exit). */
  mcp: boolean;
}

/**
 * One run: spawn → the first stdout line (the `initialize` result) for an MCP server, or
 * spawn → exit for a command; in ms. The initialize request is written at spawn, as an
 * MCP client does, so it waits in the pipe until the server reads it.
 */
function runOnce(cmd: Command, env: Record<string, string>, execArgv: string[] = []) {
  return new Promise<{ ms: number; stderr: string }>((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...execArgv, ...cmd.args], {
      cwd: root,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let ms: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (cmd.mcp && ms === undefined && out.includes('\n')) {
        ms = performance.now() - t0;
        if (!out.includes('"result"')) err += `\nnot a result: ${out}`;
        child.stdin.end(); // both servers exit when stdin closes
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!cmd.mcp) ms = performance.now() - t0;
      if (ms === undefined || (!cmd.mcp && code !== 0)) {
        reject(new Error(`${cmd.label}: no answer (exit ${code})\n${err}`));
      } else resolve({ ms, stderr: err });
    });
    if (cmd.mcp) child.stdin.write(INITIALIZE);
    else child.stdin.end();
  });
}

interface Stats {
  p50: number;
  p90: number;
  mean: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)] ?? NaN;
  return { p50: at(0.5), p90: at(0.9), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
}

/** Runs every command RUNS times (plus a warm-up), round-robin. */
async function alternate(commands: Command[], env: Record<string, string>) {
  const samples = new Map<Command, number[]>(commands.map((c) => [c, []]));
  for (let i = 0; i <= RUNS; i++) {
    for (const cmd of commands) {
      const { ms } = await runOnce(cmd, env);
      if (i > 0) samples.get(cmd)!.push(ms);
    }
  }
  return new Map([...samples].map(([c, xs]) => [c, stats(xs)]));
}

/** The JavaScript files a command loads (ESM, through a load hook in a separate run). */
async function loadedFiles(cmd: Command, env: Record<string, string>, hookDir: string) {
  const { stderr } = await runOnce(cmd, env, [
    '--import',
    pathToFileURL(join(hookDir, 'register.mjs')).href,
  ]);
  const files = new Set<string>();
  for (const m of stderr.matchAll(/^COG_BENCH_LOADED (\S+)$/gm)) files.add(fileURLToPath(m[1]!));
  const bytes = [...files].reduce((n, f) => n + statSync(f).size, 0);
  return { files: files.size, kb: bytes / 1024 };
}

function writeHook(dir: string) {
  writeFileSync(
    join(dir, 'hook.mjs'),
    `export async function load(url, context, next) {
  const r = await next(url, context);
  if (url.startsWith('file:')) process.stderr.write('COG_BENCH_LOADED ' + url + '\\n');
  return r;
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`,
  );
}

const ms = (x: number) => x.toFixed(1);

export async function benchColdStart(): Promise<BenchTable[]> {
  await ensureBuilt();
  const home = mkdtempSync(join(tmpdir(), 'cog-bench-cold-'));
  const hookDir = mkdtempSync(join(tmpdir(), 'cog-bench-hook-'));
  writeHook(hookDir);
  // The reference server gets the same environment: a private home, nothing else inherited.
  const env = cogEnv(home);
  const cog: Command = { label: 'cog mcp', args: [cogBin, 'mcp'], mcp: true };
  const ref: Command = {
    label: 'server-everything stdio',
    args: [referenceBin, 'stdio'],
    mcp: true,
  };
  const node: Command = { label: 'node -e 0 (bare start)', args: ['-e', '0'], mcp: false };
  const version: Command = { label: 'cog --version', args: [cogBin, '--version'], mcp: false };
  const help: Command = { label: 'cog --help', args: [cogBin, '--help'], mcp: false };
  try {
    const servers = await alternate([cog, ref], env);
    const commands = await alternate([node, version, help], env);
    const loaded = new Map<Command, { files: number; kb: number }>();
    for (const c of [cog, ref, version, help]) loaded.set(c, await loadedFiles(c, env, hookDir));
    const r = servers.get(ref)!;
    const c = servers.get(cog)!;
    const files = (cmd: Command) => {
      const l = loaded.get(cmd);
      return l ? `${l.files} · ${l.kb.toFixed(0)} KB` : '-';
    };
    const bare = commands.get(node)!;
    // No target in the issue for these: a command that starts no runtime should cost
    // little more than Node's own start-up, so the bar is bare node + 25 ms.
    const slack = 25;
    return [
      {
        title: `Cold start: spawn → initialize answered over stdio, ${RUNS} runs each, alternating`,
        head: [
          'server',
          'p50 ms',
          'p90 ms',
          'mean ms',
          'JS loaded (files · size)',
          'target',
          'result',
        ],
        rows: [
          [
            cog.label,
            ms(c.p50),
            ms(c.p90),
            ms(c.mean),
            files(cog),
            `p50 ≤ ${ms(r.p50)}, mean ≤ ${ms(r.mean)} (reference's)`,
            [atMost(c.p50, r.p50), atMost(c.mean, r.mean)].find((v) => v !== 'ok') ?? 'ok',
          ],
          [ref.label, ms(r.p50), ms(r.p90), ms(r.mean), files(ref), '-', '-'],
        ],
        notes: [
          `Both spawned as \`${process.execPath.split('/').pop()} <bin> …\` (Node ${process.versions.node}) with a private HOME/COG_HOME; the initialize request written at spawn; the time is to its result's line on stdout. cog: offline engine (nothing configured).`,
          'JS loaded: ESM files read by one extra run with a module-load hook (dist chunks for cog; the package and its node_modules for the reference).',
        ],
      },
      {
        title: `Commands that start no runtime: spawn → exit, ${RUNS} runs each, alternating`,
        head: [
          'command',
          'p50 ms',
          'p90 ms',
          'mean ms',
          'JS loaded (files · size)',
          'target',
          'result',
        ],
        rows: [
          [node.label, ms(bare.p50), ms(bare.p90), ms(bare.mean), '-', '-', '-'],
          ...[version, help].map((cmd) => {
            const s = commands.get(cmd)!;
            return [
              cmd.label,
              ms(s.p50),
              ms(s.p90),
              ms(s.mean),
              files(cmd),
              `p50 ≤ ${ms(bare.p50 + slack)} (bare node + ${slack})`,
              atMost(s.p50, bare.p50 + slack),
            ];
          }),
        ],
        notes: [
          `No target in the issue; the bar says "little more than Node's own start": bare node p50 + ${slack} ms.`,
          'JS loaded: what the command pulls in (the help text imports the configuration and the HTTP defaults, and with them their modules).',
        ],
      },
    ];
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(hookDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const t of await benchColdStart()) process.stdout.write(formatTable(t));
}
