import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { cogBin, ensureBuilt, root } from '../helpers/cog-process.js';

/**
 * Most people run Cog as an ordinary user, where the Linux tiers are built inside a user
 * namespace rather than by root. CI is root, so this runs `cog` as `nobody` (runuser); on
 * a machine where the tests already run unprivileged, as the user itself.
 */
const asRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'cog-unprivileged-'));
let fixture: FixtureServer;
before(async () => {
  await ensureBuilt();
  chmodSync(dir, 0o1777);
  fixture = await startFixtureServer();
});
after(async () => {
  await fixture.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `cog` as the unprivileged user; async, so the fixture in this process can answer. */
function cog(args: string[], env: Record<string, string>, input = '') {
  const home = mkdtempSync(join(dir, 'home-'));
  chmodSync(home, 0o777);
  const vars = { PATH: process.env.PATH ?? '', HOME: home, COG_HOME: join(home, 'cog'), ...env };
  const envArgs = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const argv = [process.execPath, cogBin, ...args];
  const [file, ...rest] = asRoot
    ? ['runuser', '-u', 'nobody', '--', 'env', '-i', ...envArgs, ...argv]
    : ['env', '-i', ...envArgs, ...argv];
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(file!, rest, { cwd: root, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

test('as an ordinary user, cog doctor finds both Linux tiers and the WebAssembly one', async () => {
  const r = await cog(['doctor', '--json'], {});
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    chosen: Record<string, string>;
    tiers: { tier: string; languages: string[]; notes: string[] }[];
  };
  for (const tier of ['bubblewrap', 'namespaces', 'wasm']) {
    const t = report.tiers.find((x) => x.tier === tier);
    assert.deepEqual(t?.languages, ['python', 'javascript', 'sql'], `${tier}: ${t?.notes}`);
  }
  assert.deepEqual(report.chosen, {
    python: 'bubblewrap',
    javascript: 'bubblewrap',
    sql: 'bubblewrap',
  });
});

for (const tier of ['bubblewrap', 'namespaces']) {
  test(`as an ordinary user, ${tier} contains a run: only system dirs and /workspace, no network`, async () => {
    const code = [
      'import os, socket',
      'print("cwd", os.getcwd(), sorted(os.listdir("/")))',
      'try:',
      `    socket.create_connection(("127.0.0.1", ${new URL(fixture.url).port}), timeout=2)`,
      '    print("net CONNECTED")',
      'except OSError as e:',
      '    print("net refused", e.errno)',
    ].join('\n');
    fixture.reset();
    fixture.script('thinker', [
      reply.toolCalls([
        { name: 'run_code', arguments: JSON.stringify({ language: 'python', code }) },
      ]),
      reply.text('Done.'),
    ]);
    const r = await cog(
      ['chat', '--json'],
      {
        COG_SANDBOX: tier,
        COG_APPROVAL: 'auto',
        COG_LLM_BASE_URL: fixture.url,
        COG_LLM_API_KEY: 'test-key',
        COG_MODEL: 'm',
      },
      'look around\n',
    );
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RuntimeEvent);
    const ended = events.flatMap((e) =>
      e.type === 'process.updated' && e.process.endedAt ? [e.process] : [],
    );
    assert.equal(ended[0]?.status, 'done', r.stdout.slice(-2000));
    assert.equal(ended[0]?.isolation, tier);
    const output = events.flatMap((e) => (e.type === 'process.output' ? [e.text] : [])).join('');
    assert.match(output, /^cwd \/workspace \[/m, output);
    assert.doesNotMatch(output, /'home'|'root'|'cog'/, 'nothing of the host but system dirs');
    assert.match(output, /^net refused/m, output);
  });
}
