import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { SQL_DATABASE_FILE } from '../../server/processes/runners.js';
import { assertExit, MiB, repo, setUpWasmTests } from './processes-wasm-harness.js';

// Programs that should work in the wasm tier: output, exit status, the workspace carried
// across runs, and the limits on memory, time and saved files. Escapes: processes-wasm-escapes.
const { root, BESIDE, newWorkspace, run } = setUpWasmTests();

describe('wasm tier: python on pyodide', () => {
  test('print(17*23) prints 391', async () => {
    const ran = await run('python', 'print(17*23)');
    assertExit(ran, 0);
    assert.equal(ran.stdout, '391\n');
  });

  test('output streams while the program runs', async () => {
    const ran = await run(
      'python',
      'import time\nprint("first", flush=True)\nt = time.time()\nwhile time.time() - t < 1.5: pass\nprint("second")',
    );
    assertExit(ran, 0);
    const first = ran.chunks.find((c) => c.text.includes('first'));
    const second = ran.chunks.find((c) => c.text.includes('second'));
    assert.ok(first && second, ran.stdout);
    assert.ok(second.at - first.at >= 1000, 'the first line arrived only with the second');
  });

  test('an exception prints a traceback on stderr and exits 1', async () => {
    const ran = await run('python', 'def f():\n    raise ValueError("bad value")\nf()');
    assertExit(ran, 1);
    assert.match(ran.stderr, /^Traceback \(most recent call last\):/);
    assert.match(ran.stderr, /File "<stdin>", line 2, in f/);
    assert.match(ran.stderr, /ValueError: bad value\n$/);
    assert.ok(!ran.stderr.includes('__cog_run'), ran.stderr);
  });

  test('sys.exit(3) exits 3', async () => {
    assertExit(await run('python', 'import sys\nsys.exit(3)'), 3);
  });

  test('os._exit(4) exits 4 and still saves the files written before it', async () => {
    const workspace = newWorkspace();
    const ran = await run('python', 'import os\nopen("kept.txt", "w").write("kept")\nos._exit(4)', {
      workspace,
    });
    assertExit(ran, 4);
    assert.equal(readFileSync(join(workspace, 'kept.txt'), 'utf8'), 'kept');
  });

  test('files written persist to the workspace and are read back by the next run', async () => {
    const workspace = newWorkspace();
    writeFileSync(join(workspace, 'input.txt'), 'from the host\n');
    writeFileSync(join(workspace, 'doomed.txt'), 'delete me');
    const first = await run(
      'python',
      [
        'import os',
        'print(os.getcwd(), sorted(os.listdir(".")))',
        'print(open("input.txt").read(), end="")',
        'os.makedirs("out/deep")',
        'open("out/deep/data.txt", "w").write("written by python")',
        'open("input.txt", "a").write("and python\\n")',
        'os.remove("doomed.txt")',
      ].join('\n'),
      { workspace },
    );
    assertExit(first, 0);
    assert.equal(first.stdout, "/workspace ['doomed.txt', 'input.txt']\nfrom the host\n");
    assert.equal(readFileSync(join(workspace, 'out/deep/data.txt'), 'utf8'), 'written by python');
    assert.equal(readFileSync(join(workspace, 'input.txt'), 'utf8'), 'from the host\nand python\n');
    assert.ok(!existsSync(join(workspace, 'doomed.txt')));

    const second = await run('python', 'print(open("out/deep/data.txt").read())', { workspace });
    assertExit(second, 0);
    assert.equal(second.stdout, 'written by python\n');
  });

  test('more than 64 MiB of new files is refused with a message and nothing is saved', async () => {
    const workspace = newWorkspace();
    const ran = await run(
      'python',
      'open("small.txt", "w").write("x")\nopen("big.bin", "wb").write(b"\\0" * (65 * 1024 * 1024))',
      { workspace },
    );
    assertExit(ran, 1);
    assert.match(ran.stderr, /not saved: .*64 MiB/);
    assert.ok(!existsSync(join(workspace, 'big.bin')));
    assert.ok(!existsSync(join(workspace, 'small.txt')));
  });

  test('a symbolic link in the workspace is neither followed nor written through', async () => {
    const workspace = newWorkspace();
    symlinkSync(join(root, 'secret'), join(workspace, 'link'));
    const ran = await run(
      'python',
      'import os\nprint(os.listdir("."))\nopen("link", "w").write("replaced")',
      { workspace },
    );
    assertExit(ran, 0);
    assert.equal(ran.stdout, '[]\n');
    assert.equal(readFileSync(join(root, 'secret'), 'utf8'), BESIDE);
    assert.equal(readFileSync(join(workspace, 'link'), 'utf8'), 'replaced');
  });

  test('a memory bomb fails cleanly: bytearray(2**31), then growing past the cap', async () => {
    // 2**31 does not even fit wasm32's ssize_t; the loop below grows until the cap stops it.
    const huge = await run('python', 'b = bytearray(2**31)\nprint("allocated")');
    assertExit(huge, 1);
    assert.match(huge.stderr, /(MemoryError|OverflowError)/);
    const growing = await run(
      'python',
      'chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 2**20))',
    );
    assertExit(growing, 1);
    assert.match(growing.stderr, /MemoryError\n$/);
  });

  test('runs, and a memory bomb still ends cleanly, under RLIMIT_AS = addressSpaceBytes', async (t) => {
    if (process.platform !== 'linux') return t.skip('RLIMIT_AS is applied on Linux only');
    const code = 'print(17*23)\nchunks = []\nwhile True:\n    chunks.append(bytearray(64 * 2**20))';
    const ran = await run('python', code, { capped: true });
    assertExit(ran, 1);
    assert.equal(ran.stdout, '391\n');
    assert.match(ran.stderr, /MemoryError\n$/);
  });
});

describe('wasm tier: javascript on quickjs', () => {
  test('console.log(17*23) prints 391', async () => {
    const ran = await run('javascript', 'console.log(17*23)');
    assertExit(ran, 0);
    assert.equal(ran.stdout, '391\n');
  });

  test('output streams while the program runs', async () => {
    const ran = await run(
      'javascript',
      'console.log("first"); const t = Date.now(); while (Date.now() - t < 1500) {} console.log("second")',
    );
    assertExit(ran, 0);
    const first = ran.chunks.find((c) => c.text.includes('first'));
    const second = ran.chunks.find((c) => c.text.includes('second'));
    assert.ok(first && second, ran.stdout);
    assert.ok(second.at - first.at >= 1000, 'the first line arrived only with the second');
  });

  test('workspace.list, read and write stay inside the workspace', async () => {
    const workspace = newWorkspace();
    writeFileSync(join(workspace, 'a.txt'), 'alpha');
    const ran = await run(
      'javascript',
      [
        'console.log(JSON.stringify(workspace.list()))',
        'console.log(workspace.read("a.txt"))',
        'workspace.write("sub/b.txt", "beta")',
        'console.log(JSON.stringify(workspace.list()))',
      ].join('\n'),
      { workspace },
    );
    assertExit(ran, 0);
    assert.equal(ran.stdout, '["a.txt"]\nalpha\n["a.txt","sub/b.txt"]\n');
    assert.equal(readFileSync(join(workspace, 'sub/b.txt'), 'utf8'), 'beta');
  });

  test('an uncaught error prints its stack on stderr and exits 1', async () => {
    const ran = await run('javascript', 'function f() { throw new TypeError("boom") }\nf()');
    assertExit(ran, 1);
    assert.match(ran.stderr, /^TypeError: boom\n {4}at f \(<stdin>:1/);
  });

  test('an infinite loop ends by its deadline', async () => {
    const started = Date.now();
    const ran = await run('javascript', 'while (true) {}', { timeoutMs: 3_000 });
    assertExit(ran, 1);
    assert.match(ran.stderr, /ran past its time limit/);
    assert.ok(Date.now() - started < 10_000);
  });

  test('a memory bomb ends with an error', async () => {
    const ran = await run(
      'javascript',
      'const a = []; for (;;) a.push("x".repeat(1 << 20) + a.length)',
      { memoryBytes: 256 * MiB },
    );
    assertExit(ran, 1);
    assert.match(ran.stderr, /out of memory/);
  });

  test('deep recursion is a RangeError-like error, not a host crash', async () => {
    const ran = await run('javascript', 'function f() { return f() + 1 } f()');
    assertExit(ran, 1);
    assert.match(ran.stderr, /stack overflow/);
  });
});

describe('wasm tier: sql on sql.js', () => {
  test('a select works and the database file persists in the workspace', async () => {
    const workspace = newWorkspace();
    const first = await run(
      'sql',
      'CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (17 * 23); SELECT n FROM t;',
      { workspace },
    );
    assertExit(first, 0);
    assert.equal(first.stdout, '(1 row changed)\n\nn\n---\n391\n(1 row)\n');
    assert.ok(existsSync(join(workspace, SQL_DATABASE_FILE)));
    const second = await run('sql', 'SELECT n + 1 AS m FROM t;', { workspace });
    assertExit(second, 0);
    assert.equal(second.stdout, 'm\n---\n392\n(1 row)\n');
  });
});

describe('wasm tier: from the bundle', () => {
  test('the plan finds the runtime beside an esbuild bundle, without node_modules, via a link', async (t) => {
    // Under /tmp there is no node_modules up the tree, so only the copies can be found.
    const dir = mkdtempSync(join(tmpdir(), 'cog-processes-wasm-bundle-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { planWasmRun, locateWasmRuntime } from ${JSON.stringify(join(repo, 'server/processes/wasm/plan.ts'))};
import { runChild } from ${JSON.stringify(join(repo, 'server/processes/child.ts'))};
const workspace = process.argv[2];
const results = { hostDir: locateWasmRuntime().hostDir };
for (const [language, code] of [['python', 'print(17*23)'], ['javascript', 'console.log(17*23)'], ['sql', 'SELECT 17*23 AS n;']]) {
  const plan = planWasmRun(language, code, { workspace, memoryBytes: 512 * 1024 * 1024 });
  if ('error' in plan) { results[language] = plan.error; continue; }
  let out = '';
  const outcome = await runChild({ command: plan.command, cwd: workspace, env: plan.env, stdin: plan.stdin, timeoutMs: 60000,
    signal: new AbortController().signal, onSpawn() {}, onOutput(_s, t) { out += t; } });
  results[language] = { outcome, out };
}
process.stdout.write(JSON.stringify(results));
`,
    );
    await build({
      entryPoints: [entry],
      outfile: join(dir, 'dist/cog.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
    // The same copies esbuild.mjs makes.
    const { copySqlRunner, copyWasmRuntime } = (await import(
      join(repo, 'server/processes/wasm/bundle-files.mjs')
    )) as { copySqlRunner(outDir: string): void; copyWasmRuntime(outDir: string): Promise<void> };
    copySqlRunner(join(dir, 'dist'));
    // Reached through a symbolic link, as in a linked checkout: the permission model
    // grants real paths only, so the plan must hand it those.
    await copyWasmRuntime(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere', 'wasm'), join(dir, 'dist', 'wasm'));

    const workspace = join(dir, 'ws');
    mkdirSync(workspace);
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(dir, 'dist/cog.mjs'),
      realpathSync(workspace),
    ]);
    const results = JSON.parse(stdout) as Record<string, { out: string } | string>;
    assert.equal(results.hostDir, join(realpathSync(dir), 'elsewhere', 'wasm'));
    assert.deepEqual(results.python, {
      outcome: { kind: 'exited', code: 0, signal: null },
      out: '391\n',
    });
    assert.deepEqual(results.javascript, {
      outcome: { kind: 'exited', code: 0, signal: null },
      out: '391\n',
    });
    assert.deepEqual(results.sql, {
      outcome: { kind: 'exited', code: 0, signal: null },
      out: 'n\n---\n391\n(1 row)\n',
    });
  });
});
