import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildChildEnv } from '../../server/processes/env.js';
import { findExecutable } from '../../server/processes/find-executable.js';
import { describeOutcome } from '../../server/processes/outcome.js';
import { formatBytes, OutputBuffer } from '../../server/processes/output-buffer.js';
import {
  ELECTRON_RESERVED_BYTES,
  NODE_RESERVED_BYTES,
  planRun,
} from '../../server/processes/runners.js';
import { sandboxLayout } from '../../server/processes/linux/layout.js';
import { bubblewrapArgs, namespaceScript } from '../../server/processes/linux/render.js';
import { withMemoryCap } from '../../server/processes/sandbox.js';
import { DEFAULT_LIMITS } from '../../server/processes/types.js';

test('the child environment is an allowlist: secrets never pass', () => {
  const env = buildChildEnv('/ws', {
    PATH: '/usr/bin',
    LANG: 'C.UTF-8',
    OPENAI_API_KEY: 'sk-secret',
    OPENROUTER_API_KEY: 'or-secret',
    COG_LLM_API_KEY: 'cog-secret',
    SECRET_TOKEN: 't',
    AWS_SECRET_ACCESS_KEY: 'a',
    NODE_OPTIONS: '--require /evil.js',
  });
  assert.deepEqual(Object.keys(env).sort(), [
    'HOME',
    'LANG',
    'MALLOC_ARENA_MAX',
    'MPLBACKEND',
    'NO_COLOR',
    'PATH',
    'PYTHONDONTWRITEBYTECODE',
    'PYTHONIOENCODING',
    'PYTHONUNBUFFERED',
    'TMPDIR',
  ]);
  assert.equal(env.HOME, '/ws');
  assert.equal(env.TMPDIR, '/ws/.tmp');
  assert.equal(buildChildEnv('/ws', { PATH: '/a' }, '/b').PATH, '/b');
});

test('findExecutable searches absolute PATH entries only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cog-which-'));
  try {
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    writeFileSync(join(dir, 'data'), 'not executable');
    chmodSync(join(dir, 'tool'), 0o755);
    assert.equal(findExecutable('tool', `relative:${dir}`), join(dir, 'tool'));
    assert.equal(findExecutable('data', dir), undefined);
    assert.equal(findExecutable('tool', 'relative::'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output within every cap passes through untouched', () => {
  const out = new OutputBuffer(1024, 100);
  assert.equal(out.push('hello\n', 6), 'hello\n');
  assert.equal(out.modelText(), 'hello\n');
  assert.equal(out.truncated, false);
  assert.equal(out.bytes, 6);
});

test('kept output stops at its cap; the model sees head, marker and the real tail', () => {
  const out = new OutputBuffer(1000, 300);
  let streamed = '';
  for (let i = 0; i < 50; i++) {
    const line = `line ${String(i).padStart(3, '0')} ${'x'.repeat(90)}\n`;
    streamed += out.push(line, Buffer.byteLength(line));
  }
  assert.equal(Buffer.byteLength(out.text()), 1000);
  assert.equal(streamed, out.text());
  assert.equal(out.truncated, true);
  const model = out.modelText();
  assert.ok(Buffer.byteLength(model) <= 300, `model text is ${Buffer.byteLength(model)} bytes`);
  assert.ok(model.startsWith('line 000'));
  assert.match(model, /\n\[output truncated: showing \d+ B of 4\.9 KiB\]\n/);
  assert.ok(model.endsWith(`line 049 ${'x'.repeat(90)}\n`), 'tail is the end of all output');
});

test('truncation never splits a multi-byte character', () => {
  const out = new OutputBuffer(10, 200);
  const kept = out.push('ééééééé', 14);
  assert.equal(kept, 'ééééé');
  assert.ok(!out.text().includes('\uFFFD'));
});

test('formatBytes speaks in binary units', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(16 * 1024), '16 KiB');
  assert.equal(formatBytes(2.3 * 1024 * 1024), '2.3 MiB');
  assert.equal(formatBytes(1024 ** 3), '1 GiB');
});

test('outcomes read as words', () => {
  const limits = { ...DEFAULT_LIMITS };
  assert.deepEqual(describeOutcome({ kind: 'timed-out' }, limits), [
    'timed-out',
    'exceeded 10 s',
    null,
  ]);
  assert.deepEqual(describeOutcome({ kind: 'exited', code: 0, signal: null }, limits), [
    'done',
    undefined,
    0,
  ]);
  assert.deepEqual(describeOutcome({ kind: 'exited', code: 2, signal: null }, limits), [
    'failed',
    'exited with code 2',
    2,
  ]);
  const [, aborted] = describeOutcome({ kind: 'exited', code: 134, signal: null }, limits);
  assert.equal(aborted, 'exited with code 134 (SIGABRT); the memory limit is 1 GiB');
  const [, killed] = describeOutcome({ kind: 'exited', code: null, signal: 'SIGKILL' }, limits);
  assert.equal(killed, 'killed by SIGKILL; the memory limit is 1 GiB');
});

test('the memory cap wraps the command', () => {
  const capped = withMemoryCap({ file: '/usr/bin/python3', args: ['-'] }, 256 * 1024 * 1024);
  if (capped.file.endsWith('/prlimit')) {
    assert.deepEqual(capped.args, ['--as=268435456', '--core=0', '--', '/usr/bin/python3', '-']);
  } else {
    assert.equal(capped.file, '/bin/sh');
    assert.match(capped.args[1] ?? '', /^ulimit -v 262144 \|\| exit 126; exec "\$@"$/);
  }
});

test('the sandbox layout shows system dirs read-only, the workspace writable, nothing of home', () => {
  const mounts = sandboxLayout({
    workspace: '/home/ada/.cog/workspaces/s1',
    prefixes: ['/usr', '/home/ada/.pyenv/versions/3.12', '/home/ada/.pyenv/versions/3.12/bin'],
    files: [{ src: '/opt/cog/dist/sql-runner.mjs', dst: '/opt/cog/sql-runner.mjs' }],
    etc: '/run/cog/etc/1000',
  });
  const rw = mounts.filter((m) => m.kind === 'rw');
  assert.deepEqual(rw, [{ kind: 'rw', src: '/home/ada/.cog/workspaces/s1', dst: '/workspace' }]);
  const ro = mounts.flatMap((m) => (m.kind === 'ro' ? [m.dst] : []));
  assert.ok(ro.includes('/home/ada/.pyenv/versions/3.12'), 'an interpreter prefix, once');
  assert.ok(!ro.includes('/home/ada/.pyenv/versions/3.12/bin'), 'nested prefixes are not repeated');
  assert.ok(!ro.some((d) => d === '/' || d === '/home' || d === '/home/ada' || d === '/etc'));
  assert.ok(ro.includes('/etc/passwd'), 'a synthetic passwd');
  assert.ok(!ro.includes('/etc/shadow'));
  const args = bubblewrapArgs(mounts, { mode: 'user' });
  for (const flag of ['--unshare-net', '--unshare-pid', '--die-with-parent', '--new-session']) {
    assert.ok(args.includes(flag), flag);
  }
  assert.deepEqual(args.slice(args.indexOf('--cap-drop'), args.indexOf('--cap-drop') + 2), [
    '--cap-drop',
    'ALL',
  ]);
  assert.equal(args.at(-1), '--');
  // As root the code drops to its own uid before it runs.
  const asRoot = bubblewrapArgs(mounts, { mode: 'root', uid: 2_000_000_123 });
  assert.deepEqual(asRoot.slice(asRoot.indexOf('--') + 1, asRoot.indexOf('--') + 3), [
    'setpriv',
    '--reuid=2000000123',
  ]);
  const script = namespaceScript(mounts, '/run/cog/root', { mode: 'user' });
  assert.match(script, /pivot_root \. \.old-root\numount -l \/\.old-root/);
  assert.match(
    script,
    /exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs --pdeathsig KILL -- "\$@"$/,
  );
  assert.ok(!/ \/home\/ada\/\.cog(?!\/workspaces\/s1)/.test(script), 'COG_HOME is never mounted');
});

test('inside Electron, JavaScript runs on a plain node from PATH so the memory cap holds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cog-node-path-'));
  try {
    const fakeNode = join(dir, 'node');
    writeFileSync(fakeNode, '#!/bin/sh\n');
    chmodSync(fakeNode, 0o755);
    const opts = { place: { workspace: dir }, memoryBytes: 256 * 1024 ** 2, electron: true };
    const withNode = planRun('javascript', '1', { ...opts, pathEnv: dir });
    assert.ok(!('error' in withNode));
    assert.equal(withNode.command.file, fakeNode);
    assert.equal(withNode.addressSpaceBytes, 256 * 1024 ** 2 + NODE_RESERVED_BYTES);
    // No node on PATH: Electron itself, whose V8 reservations need the terabyte headroom.
    const without = planRun('javascript', '1', { ...opts, pathEnv: join(dir, 'none') });
    assert.ok(!('error' in without));
    assert.equal(without.command.file, process.execPath);
    assert.equal(without.addressSpaceBytes, 256 * 1024 ** 2 + ELECTRON_RESERVED_BYTES);
    assert.ok(
      without.command.args[0]?.startsWith('--max-old-space-size=256'),
      'the heap stays capped',
    );
    const plain = planRun('javascript', '1', { ...opts, electron: false, pathEnv: dir });
    assert.ok(!('error' in plain));
    assert.equal(plain.command.file, process.execPath, 'outside Electron: the running node');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
