import { mkdirSync } from 'node:fs';
import { buildChildEnv, sandboxEnv, workspaceTmp } from './env.js';
import { INNER_RUNNERS, INNER_WORKSPACE, wrapLinux } from './linux/index.js';
import { planRun, type RunnerUnavailable } from './runners.js';
import { withMemoryCap, type Command } from './sandbox.js';
import type { TierChoice } from './tiers.js';
import type { ProcessLimits, RunRequest } from './types.js';
import { planWasmRun } from './wasm/plan.js';

/** Everything `runChild` needs for one run in its tier. */
export interface PreparedRun {
  command: Command;
  cwd: string;
  env: Record<string, string>;
  stdin: string;
}

/**
 * Turns a run into the command its tier spawns: inside a Linux sandbox (paths as the code
 * sees them, limits by prlimit), in a WebAssembly host, or, for `none`, as a plain
 * memory-capped child with a scrubbed environment.
 */
export function prepareRun(
  choice: Exclude<TierChoice, { error: string }>,
  req: RunRequest,
  opts: {
    workspace: string;
    pathEnv: string;
    limits: ProcessLimits;
    /** Shared files' directory (a real path), read-only at shared/ in the contained tiers. */
    shared?: string;
  },
): PreparedRun | RunnerUnavailable {
  const { workspace, pathEnv, limits, shared } = opts;
  const memoryBytes = limits.memoryBytes;
  switch (choice.tier) {
    case 'bubblewrap':
    case 'namespaces': {
      const plan = planRun(req.language, req.code, {
        place: { workspace: INNER_WORKSPACE, runners: INNER_RUNNERS },
        pathEnv,
        memoryBytes,
      });
      if ('error' in plan) return plan;
      if (!choice.linux) return { error: `${choice.tier} is not available` };
      const command = wrapLinux(
        choice.linux,
        plan.command,
        { workspace, prefixes: plan.prefixes, files: plan.files, ...(shared ? { shared } : {}) },
        {
          addressSpaceBytes: plan.addressSpaceBytes,
          processes: limits.processes,
          fileBytes: limits.fileBytes,
          cpuSeconds: limits.timeoutMs / 1000 + 1,
        },
        req.session,
      );
      return {
        command,
        cwd: workspace,
        env: { ...sandboxEnv(INNER_WORKSPACE), ...plan.env },
        stdin: plan.stdin,
      };
    }
    case 'wasm': {
      const plan = planWasmRun(req.language, req.code, {
        workspace,
        memoryBytes,
        ...(shared ? { shared } : {}),
      });
      if ('error' in plan) return plan;
      return {
        command: withMemoryCap(plan.command, plan.addressSpaceBytes),
        cwd: workspace,
        env: plan.env,
        stdin: plan.stdin,
      };
    }
    case 'none': {
      // No shared files here: nothing uncontained could keep them read-only.
      // Only here is TMPDIR inside the workspace; the sandboxes have a private /tmp.
      mkdirSync(workspaceTmp(workspace), { recursive: true });
      const plan = planRun(req.language, req.code, { place: { workspace }, pathEnv, memoryBytes });
      if ('error' in plan) return plan;
      return {
        command: withMemoryCap(plan.command, plan.addressSpaceBytes),
        cwd: workspace,
        env: { ...buildChildEnv(workspace, process.env, pathEnv), ...plan.env },
        stdin: plan.stdin,
      };
    }
    default: {
      const never: never = choice;
      return { error: `unknown tier ${String(never)}` };
    }
  }
}
