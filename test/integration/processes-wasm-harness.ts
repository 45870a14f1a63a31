import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import type { Language } from '../../protocol/events.js';
import { runChild, type ChildOutcome } from '../../server/processes/child.js';
import { withMemoryCap } from '../../server/processes/sandbox.js';
import { planWasmRun, wasmAvailable } from '../../server/processes/wasm/plan.js';

/**
 * Shared set-up of the processes-wasm tests: a scratch folder of workspaces, a secret in the
 * environment and one beside the workspaces that no run may print, and `run`, which plans
 * a program in the wasm tier and runs it as the process manager would.
 */

export const repo = resolve(import.meta.dirname, '../..');
export const MiB = 1024 * 1024;

export interface Ran {
  outcome: ChildOutcome;
  stdout: string;
  stderr: string;
  /** Every chunk with the time it reached this process, to check output streams. */
  chunks: { stream: 'stdout' | 'stderr'; text: string; at: number }[];
}

export interface RunOptions {
  workspace?: string;
  memoryBytes?: number;
  timeoutMs?: number;
  /** Added to the child's environment, on top of the plan's. */
  env?: Record<string, string>;
  /** Spawn under RLIMIT_AS = plan.addressSpaceBytes, as the process manager does on Linux. */
  capped?: boolean;
}

export interface WasmTests {
  /** The scratch folder; removed after the file's tests. Holds the workspaces and `secret`. */
  root: string;
  /** In this process's environment only: no run may ever print it, whatever it tries. */
  SECRET: string;
  /** The content of `<root>/secret`, a file next to the workspaces as another session's. */
  BESIDE: string;
  /** A new empty workspace under `root`. */
  newWorkspace(): string;
  /**
   * Plans `code` in the wasm tier and runs the plan's command through runChild; fails the
   * test if SECRET or BESIDE shows in the output.
   */
  run(language: Language, code: string, opts?: RunOptions): Promise<Ran>;
}

/** Sets up one test file: call once, at its top level. Fails if a wasm language is missing. */
export function setUpWasmTests(): WasmTests {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'cog-processes-wasm-')));
  after(() => rmSync(root, { recursive: true, force: true }));

  const SECRET = `sekrit-${randomBytes(8).toString('hex')}`;
  process.env.COG_TEST_SECRET = SECRET;
  const BESIDE = `beside-${randomBytes(8).toString('hex')}`;
  writeFileSync(join(root, 'secret'), BESIDE);

  let workspaces = 0;
  function newWorkspace(): string {
    const dir = join(root, `ws-${++workspaces}`);
    mkdirSync(dir);
    return dir;
  }

  async function run(language: Language, code: string, opts: RunOptions = {}): Promise<Ran> {
    const workspace = opts.workspace ?? newWorkspace();
    const plan = planWasmRun(language, code, {
      workspace,
      memoryBytes: opts.memoryBytes ?? 1024 * MiB,
      timeoutMs: opts.timeoutMs ?? 20_000,
    });
    if ('error' in plan) throw new Error(plan.error);
    const ran: Ran = { outcome: { kind: 'cancelled' }, stdout: '', stderr: '', chunks: [] };
    ran.outcome = await runChild({
      command: opts.capped ? withMemoryCap(plan.command, plan.addressSpaceBytes) : plan.command,
      cwd: workspace,
      env: { ...plan.env, ...opts.env },
      stdin: plan.stdin,
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      onSpawn() {},
      onOutput(stream, text) {
        ran[stream] += text;
        ran.chunks.push({ stream, text, at: Date.now() });
      },
    });
    const all = ran.stdout + ran.stderr;
    assert.ok(!all.includes(SECRET), `the parent's secret leaked into the output:\n${all}`);
    assert.ok(!all.includes(BESIDE), `a file beside the workspace leaked into the output:\n${all}`);
    return ran;
  }

  for (const language of ['python', 'javascript', 'sql'] as const) {
    const available = wasmAvailable(language);
    assert.deepEqual(available, { ok: true }, `wasm ${language} is unavailable here`);
  }

  return { root, SECRET, BESIDE, newWorkspace, run };
}

/** Fails with the run's output unless it exited with `code`, by no signal. */
export function assertExit(ran: Ran, code: number): void {
  assert.deepEqual(
    ran.outcome,
    { kind: 'exited', code, signal: null },
    `stdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`,
  );
}
