import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Isolation, ProcessInfo } from '../../protocol/events.js';
import {
  createProcessManager,
  type ProcessLimits,
  type ProcessManager,
} from '../../server/processes/index.js';

const root = mkdtempSync(join(tmpdir(), 'cog-processes-sandbox-'));
after(() => rmSync(root, { recursive: true, force: true }));

const MiB = 1024 * 1024;

/** Command lines of live (non-zombie) processes containing `marker`. */
function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(marker)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * Killing is asynchronous in the kernel: a killed process lingers for a moment before
 * its /proc entry loses its cmdline. Polls briefly instead of asserting on the instant.
 */
async function assertGone(marker: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (processesWith(marker).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(processesWith(marker), [], `processes with ${marker} survived`);
}

function setup(isolation: Isolation, limits: Partial<ProcessLimits> = {}) {
  const ready: ((id: string) => void)[] = [];
  const pm: ProcessManager = createProcessManager({
    policy: 'auto',
    sandbox: isolation,
    limits,
    events: {
      onUpdate() {},
      onOutput(id, _stream, text) {
        if (text.includes('READY')) ready.shift()?.(id);
      },
    },
  });
  let n = 0;
  const workspace = (): string => join(root, `${isolation}-${++n}`);
  /** Runs python; `ready` resolves with the process id once it prints READY. */
  const runUntilReady = (code: string) => ({
    ready: new Promise<string>((resolve) => ready.push(resolve)),
    result: pm.run({ session: 'sandbox', language: 'python', code, workspace: workspace() }),
  });
  return { pm, workspace, runUntilReady };
}

// The process-level tiers; the WebAssembly tier has its own tests (processes-wasm), and the
// containment battery (test/security) runs every tier through the whole pipeline.
const isolations: { name: Isolation; option: Isolation; contained: boolean }[] = [
  { name: 'bubblewrap', option: 'bubblewrap', contained: true },
  { name: 'namespaces', option: 'namespaces', contained: true },
  { name: 'none', option: 'none', contained: false },
];

for (const { name, option, contained } of isolations) {
  describe(`isolation: ${name}`, () => {
    test('the environment is scrubbed: no keys, no tokens', async () => {
      const saved = { ...process.env };
      Object.assign(process.env, {
        OPENAI_API_KEY: 'sk-leak',
        OPENROUTER_API_KEY: 'or-leak',
        COG_LLM_API_KEY: 'cog-leak',
        SECRET_TOKEN: 'token-leak',
      });
      const { pm, workspace } = setup(option);
      try {
        const ws = workspace();
        const code = 'import json, os\nprint(json.dumps(dict(os.environ)))';
        const r = await pm.run({ session: 'env', language: 'python', code, workspace: ws });
        assert.equal(r.process.status, 'done', r.output);
        assert.equal(r.process.isolation, name);
        const env = JSON.parse(r.output) as Record<string, string>;
        for (const key of Object.keys(env)) {
          assert.doesNotMatch(key, /KEY|TOKEN|SECRET|^COG_|^OPENAI_|^OPENROUTER_/, key);
        }
        assert.ok(!r.output.includes('leak'));
        // Inside a Linux sandbox the workspace is /workspace and /tmp is private.
        assert.equal(env.HOME, contained ? '/workspace' : ws);
        assert.equal(env.TMPDIR, contained ? '/tmp' : join(ws, '.tmp'));
        const js = await pm.run({
          session: 'env',
          language: 'javascript',
          code: 'console.log(Object.keys(process.env).filter((k) => /KEY|TOKEN/.test(k)).length)',
          workspace: ws,
        });
        assert.equal(js.output, '0\n');
      } finally {
        process.env = saved;
        await pm.close();
      }
    });

    test('timeout: an endless loop is timed-out and its process group killed', async () => {
      const { pm, workspace } = setup(option, { timeoutMs: 1_000 });
      const marker = `sleep 30.${randomInt(100_000, 999_999)}`;
      const code = `import subprocess\nsubprocess.Popen(['sh', '-c', '${marker}'])\nwhile True:\n    pass`;
      const t0 = Date.now();
      const r = await pm.run({ session: 'loop', language: 'python', code, workspace: workspace() });
      const elapsed = Date.now() - t0;
      assert.equal(r.process.status, 'timed-out');
      assert.equal(r.process.reason, 'exceeded 1 s');
      assert.ok(elapsed < 2_000, `took ${elapsed} ms`);
      await assertGone(marker);
      await pm.close();
    });

    test('cancel kills grandchildren too', async () => {
      const { pm, runUntilReady } = setup(option);
      const marker = `sleep 30.${randomInt(100_000, 999_999)}`;
      const { result, ready } = runUntilReady(
        [
          'import subprocess, time',
          `subprocess.Popen(['sh', '-c', '${marker} & ${marker}'])`,
          'time.sleep(0.2)',
          'print("READY", flush=True)',
          'time.sleep(30)',
        ].join('\n'),
      );
      const id = await ready;
      // sh and its two sleeps (or two, if sh exec'd the last one).
      assert.ok(processesWith(marker).length >= 2, 'the sleeps are running');
      assert.equal(pm.cancel(id), true);
      const r = await result;
      assert.equal(r.process.status, 'cancelled');
      await assertGone(marker);
      await pm.close();
    });

    test('the memory cap holds: 2 GiB fails under 256 MiB, small runs still work', async () => {
      const { pm, workspace } = setup(option, { memoryBytes: 256 * MiB });
      const ws = workspace();
      const run = (language: 'python' | 'javascript', code: string) =>
        pm.run({ session: 'mem', language, code, workspace: ws });

      const big = await run('python', 'x = bytes(2 * 1024 ** 3)\nprint("allocated")');
      assert.equal(big.process.status, 'failed');
      assert.match(big.output, /MemoryError/);
      const small = await run('python', 'x = bytearray(64 * 1024 ** 2)\nprint(len(x))');
      assert.equal(small.process.status, 'done', small.output);

      const jsBig = await run(
        'javascript',
        'const b = Buffer.alloc(2 * 1024 ** 3); console.log(b.length)',
      );
      assert.equal(jsBig.process.status, 'failed');
      assert.match(jsBig.output, /RangeError|allocation failed|out of memory/i);
      const jsSmall = await run('javascript', 'console.log(Buffer.alloc(64 * 1024 ** 2).length)');
      assert.equal(jsSmall.process.status, 'done', jsSmall.output);

      // The control: the same allocation under a larger cap succeeds, so it was the cap.
      // bytes() comes from calloc, so this reserves 2 GiB without touching it.
      const roomy = setup(option, { memoryBytes: 4096 * MiB });
      const control = await roomy.pm.run({
        session: 'mem',
        language: 'python',
        code: 'x = bytes(2 * 1024 ** 3)\nprint("allocated")',
        workspace: ws,
      });
      assert.equal(control.output, 'allocated\n');
      await roomy.pm.close();

      const sql = await pm.run({
        session: 'mem',
        language: 'sql',
        code: 'SELECT 1 AS one;',
        workspace: ws,
      });
      assert.equal(sql.process.status, 'done', sql.output);
      await pm.close();
    });

    test('a descendant that leaves the process group with setsid', async () => {
      const { pm, workspace } = setup(option);
      const marker = `sleep 30.${randomInt(100_000, 999_999)}`;
      // It keeps stdout open, so the run must not wait for the pipe to close either.
      const code = `import subprocess\nsubprocess.Popen(['setsid', 'sh', '-c', '${marker}'])\nprint("bye")`;
      const t0 = Date.now();
      const r = await pm.run({
        session: 'setsid',
        language: 'python',
        code,
        workspace: workspace(),
      });
      assert.equal(r.process.status, 'done', r.output);
      assert.ok(Date.now() - t0 < 4_000, 'the run ends although the escapee holds the pipe');
      if (contained) {
        // The pid namespace dies with the run, taking the escapee with it.
        await assertGone(marker);
      } else {
        // Documented limit of process-group isolation: a new session escapes the kill.
        const survivors = processesWith(marker);
        assert.ok(survivors.length > 0);
        for (const line of survivors) process.kill(Number(line.split(':')[0]), 'SIGKILL');
        await assertGone(marker);
      }
      await pm.close();
    });

    test(`network and files outside the workspace: ${contained ? 'blocked' : 'reachable'}`, async () => {
      const server = createServer((socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      // Outside /tmp, which the sandbox replaces with a private tmpfs: a write there would
      // land in the sandbox's own copy and prove nothing.
      const outside = `/var/tmp/cog-escape-${name}-${randomInt(1e9)}.txt`;
      const { pm, workspace } = setup(option);
      const code = [
        'import socket',
        'try:',
        `    socket.create_connection(("127.0.0.1", ${port}), timeout=2).close()`,
        '    print("net: connected")',
        'except OSError as e:',
        '    print("net: blocked", e.errno)',
        'try:',
        `    open(${JSON.stringify(outside)}, "w").write("escaped")`,
        '    print("fs: wrote")',
        'except OSError as e:',
        '    print("fs: blocked", e.errno)',
        'open("inside.txt", "w").write("ok")',
        'print("inside: wrote")',
      ].join('\n');
      try {
        const r = await pm.run({
          session: 'net',
          language: 'python',
          code,
          workspace: workspace(),
        });
        assert.equal(r.process.status, 'done', r.output);
        const lines = r.output.split('\n');
        if (contained) {
          assert.match(lines[0] ?? '', /^net: blocked/);
          // /var is not in the sandbox at all: no such directory.
          assert.equal(lines[1], 'fs: blocked 2', 'ENOENT');
          assert.equal(existsSync(outside), false);
        } else {
          assert.equal(lines[0], 'net: connected');
          assert.equal(lines[1], 'fs: wrote');
        }
        assert.equal(lines[2], 'inside: wrote');
      } finally {
        rmSync(outside, { force: true });
        server.close();
        await pm.close();
      }
    });
  });
}

test('process ids and isolation are reported in ProcessInfo', async () => {
  const updates: ProcessInfo[] = [];
  const pm = createProcessManager({
    policy: 'auto',
    sandbox: 'none',
    events: { onUpdate: (p) => updates.push(p), onOutput() {} },
  });
  const r = await pm.run({
    session: 'info',
    language: 'javascript',
    code: '',
    workspace: join(root, 'info'),
  });
  assert.equal(r.process.isolation, 'none');
  assert.ok(updates.every((u) => u.id === r.process.id && u.isolation === 'none'));
  await pm.close();
});
