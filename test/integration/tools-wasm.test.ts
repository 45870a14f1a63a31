import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Language } from '../../protocol/events.js';
import { runChild, type ChildOutcome } from '../../server/tools/child.js';
import { SQL_DATABASE_FILE } from '../../server/tools/runners.js';
import { withMemoryCap } from '../../server/tools/sandbox.js';
import { planWasmRun, wasmAvailable } from '../../server/tools/wasm/plan.js';

const repo = resolve(import.meta.dirname, '../..');
const MiB = 1024 * 1024;
const root = realpathSync(mkdtempSync(join(tmpdir(), 'cog-tools-wasm-')));
after(() => rmSync(root, { recursive: true, force: true }));

// In this process's environment only: no run may ever print it, whatever it tries.
const SECRET = `sekrit-${randomBytes(8).toString('hex')}`;
process.env.COG_TEST_SECRET = SECRET;
// A file next to the workspaces, as another session's files would be.
const BESIDE = `beside-${randomBytes(8).toString('hex')}`;
writeFileSync(join(root, 'secret'), BESIDE);

let workspaces = 0;
function newWorkspace(): string {
  const dir = join(root, `ws-${++workspaces}`);
  mkdirSync(dir);
  return dir;
}

interface Ran {
  outcome: ChildOutcome;
  stdout: string;
  stderr: string;
  /** Every chunk with the time it reached this process, to check output streams. */
  chunks: { stream: 'stdout' | 'stderr'; text: string; at: number }[];
}

interface RunOptions {
  workspace?: string;
  memoryBytes?: number;
  timeoutMs?: number;
  /** Added to the child's environment, on top of the plan's. */
  env?: Record<string, string>;
  /** Spawn under RLIMIT_AS = plan.addressSpaceBytes, as the process manager does on Linux. */
  capped?: boolean;
}

/** Plans `code` in the wasm tier and runs the plan's command through runChild. */
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

function exitCode(ran: Ran): number | null {
  return ran.outcome.kind === 'exited' ? ran.outcome.code : null;
}

function assertExit(ran: Ran, code: number): void {
  assert.deepEqual(
    ran.outcome,
    { kind: 'exited', code, signal: null },
    `stdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`,
  );
}

/** Lets a connection that was attempted just before the child exited reach its server. */
const settle = () => new Promise((r) => setTimeout(r, 200));

/** A loopback TCP server that counts the connections it accepts. */
async function tcpListener(): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createTcpServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted };
}

for (const language of ['python', 'javascript', 'sql'] as const) {
  const available = wasmAvailable(language);
  assert.deepEqual(available, { ok: true }, `wasm ${language} is unavailable here`);
}

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

describe('wasm tier: python escape probes (each must fail)', () => {
  let http: Server;
  let httpPort = 0;
  let httpRequests = 0;
  let tcp: Awaited<ReturnType<typeof tcpListener>>;
  before(async () => {
    http = createHttpServer((_req, res) => {
      httpRequests++;
      res.end('hello');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as AddressInfo).port;
    tcp = await tcpListener();
  });
  after(async () => {
    await new Promise((r) => http.close(r));
    await new Promise((r) => tcp.server.close(r));
  });

  /**
   * Runs each attempt (a Python expression) in one program and returns what it printed:
   * `held <label> <exception>` per attempt, or `ESCAPED` if one succeeded.
   */
  async function probe(...attempts: string[]): Promise<Ran> {
    const code = [
      'attempts = [',
      ...attempts.map((a, i) => `    (${i}, lambda: ${a}),`),
      ']',
      'for label, attempt in attempts:',
      '    try:',
      '        print("ESCAPED", label, repr(attempt())[:200])',
      '    except BaseException as e:',
      '        print("held", label, type(e).__name__, str(e)[:200])',
    ].join('\n');
    const ran = await run('python', code);
    assertExit(ran, 0);
    assert.ok(!ran.stdout.includes('ESCAPED'), ran.stdout + ran.stderr);
    assert.equal(ran.stdout.match(/^held /gm)?.length, attempts.length, ran.stdout);
    return ran;
  }

  test('import js; js.process.env', async () => {
    const ran = await probe('__import__("js").process.env');
    assert.match(ran.stdout, /held 0 ModuleNotFoundError No module named 'js'/);
  });

  test('js.Object.constructor.constructor("return process")()', async () => {
    const ran = await probe('__import__("js").Object.constructor.constructor("return process")()');
    assert.match(ran.stdout, /held 0 ModuleNotFoundError/);
  });

  test('the Function constructor reached from any JS object cannot run code', async () => {
    const ran = await probe(
      '__import__("pyodide.ffi").ffi.to_js({}).constructor.constructor("return process")()',
    );
    assert.match(ran.stdout, /EvalError: Code generation from strings disallowed/);
  });

  test('JavaScript intrinsics are frozen: no prototype pollution, no planted getter', async () => {
    const ffi = '__import__("pyodide.ffi").ffi';
    const object = `${ffi}.to_js({}).constructor`;
    const ran = await probe(
      `setattr(${object}.prototype, "polluted", 1)`,
      `setattr(${object}, "keys", None)`,
      `(lambda O: O.defineProperty(O.prototype, "channel", ${ffi}.to_js({"get": ${ffi}.create_proxy(lambda: 1)}, dict_converter=O.fromEntries)))(${object})`,
    );
    assert.equal(ran.stdout.match(/^held \d JsException TypeError/gm)?.length, 3, ran.stdout);
  });

  test('from pyodide.code import run_js; run_js("process.env")', async () => {
    const ran = await probe('__import__("pyodide.code").code.run_js("process.env")');
    assert.match(ran.stdout, /held 0 ModuleNotFoundError No module named 'js'/);
  });

  test('import pyodide_js; pyodide_js.loadPackage(url) sends no request', async () => {
    await probe(`__import__("pyodide_js").loadPackage("http://127.0.0.1:${httpPort}/x.whl")`);
    await settle();
    assert.equal(httpRequests, 0);
  });

  test('the Pyodide API reached another way cannot load packages or open sockets', async () => {
    // pyodide.webloop keeps pyodide_js._api in sys.modules for asyncio: the API object is
    // reachable, but loadPackage, useNodeSockFS and the node:net initialiser are gone.
    const api = '__import__("sys").modules["pyodide_js._api"]';
    await probe(
      `${api}.public_api.loadPackage("http://127.0.0.1:${httpPort}/y.whl")`,
      `${api}.public_api.useNodeSockFS()`,
      `${api}.initializeNodeSockFS()`,
      `${api}.loadBinaryFile("http://127.0.0.1:${httpPort}/z")`,
      `${api}.public_api._module.FS.filesystems.NODEFS`,
      `${api}.public_api._module.NODEFS`,
      `${api}.public_api.mountNodeFS("/host", "/")`,
    );
    await settle();
    assert.equal(httpRequests, 0);
  });

  test('socket.create_connection to a listening loopback port is refused', async () => {
    const ran = await probe(
      `__import__("socket").create_connection(("127.0.0.1", ${tcp.port}), timeout=2)`,
    );
    assert.match(ran.stdout, /held 0 OSError .*unreachable/i);
    await settle();
    assert.equal(tcp.accepted(), 0);
  });

  test('urllib.request.urlopen of a loopback HTTP server sends no request', async () => {
    const ran = await probe(
      `__import__("urllib.request").request.urlopen("http://127.0.0.1:${httpPort}/", timeout=2).read()`,
    );
    assert.match(ran.stdout, /held 0 URLError/);
    await settle();
    assert.equal(httpRequests, 0);
  });

  test('/etc/passwd, /proc/self/environ and a file beside the workspace cannot be read', async () => {
    const paths = ['/etc/passwd', '/proc/self/environ', '../secret', join(root, 'secret')];
    const ran = await probe(...paths.map((path) => `open(${JSON.stringify(path)}).read()`));
    assert.equal(ran.stdout.match(/^held \d FileNotFoundError/gm)?.length, paths.length);
  });

  test('os.system spawns nothing', async () => {
    const marker = join(root, `spawned-${randomBytes(4).toString('hex')}`);
    const ran = await run('python', `import os\nos.system("touch ${marker}")`);
    assert.notEqual(exitCode(ran), 0);
    assert.ok(!existsSync(marker));
  });

  test('a secret in the host environment is not visible to the code', async () => {
    // Even if a parent passed a variable on by mistake, Python's os.environ is Pyodide's own.
    const ran = await run(
      'python',
      'import os\nprint(sorted(os.environ))\nprint(os.environ.get("COG_TEST_SECRET"))',
      { env: { COG_TEST_SECRET: SECRET } },
    );
    assertExit(ran, 0);
    assert.match(ran.stdout, /\nNone\n$/);
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

  test('escape probes: require, process, fetch, import("node:fs"), path traversal', async () => {
    const workspace = newWorkspace();
    symlinkSync(join(root, 'secret'), join(workspace, 'link'));
    const ran = await run(
      'javascript',
      [
        'const report = (name, f) => { try { console.log(name, "ESCAPED", String(f())) } catch (e) { console.log(name, "held", String(e)) } }',
        'report("require", () => require("node:fs"))',
        'report("process", () => process.env)',
        'report("fetch", () => globalThis.fetch("http://127.0.0.1:1/"))',
        'report("Function", () => Function("return this")().process.env)',
        'report("traversal", () => workspace.read("../secret"))',
        `report("absolute", () => workspace.read(${JSON.stringify(join(root, 'secret'))}))`,
        'report("write-out", () => workspace.write("../escaped.txt", "x"))',
        'report("link", () => workspace.read("link"))',
        'console.log("list", JSON.stringify(workspace.list()))',
        'console.log("types", typeof require, typeof process, typeof fetch, typeof globalThis.WebSocket)',
        'import("node:fs").then((fs) => console.log("import ESCAPED", fs.readFileSync("/etc/passwd", "utf8")), (e) => console.log("import held", String(e)))',
      ].join('\n'),
      { workspace },
    );
    assertExit(ran, 0);
    assert.ok(!ran.stdout.includes('ESCAPED'), ran.stdout);
    assert.match(ran.stdout, /^require held ReferenceError/m);
    assert.match(ran.stdout, /^process held ReferenceError/m);
    assert.match(ran.stdout, /^fetch held TypeError/m);
    assert.match(ran.stdout, /^traversal held Error: invalid workspace file name/m);
    assert.match(ran.stdout, /^absolute held Error: invalid workspace file name/m);
    assert.match(ran.stdout, /^write-out held Error: invalid workspace file name/m);
    assert.match(ran.stdout, /^link held Error: link: not a regular file$/m);
    assert.match(ran.stdout, /^list \[\]$/m);
    assert.match(ran.stdout, /^types undefined undefined undefined undefined$/m);
    assert.match(ran.stdout, /^import held ReferenceError: could not load module 'node:fs'$/m);
    assert.ok(!existsSync(join(root, 'escaped.txt')));
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

describe('wasm tier: the permission model around the host', () => {
  test('host code itself cannot read outside its files nor spawn', async () => {
    // What an escape would get: plain JavaScript in a process started with the plan's
    // flags. The probe is a workspace file, since the workspace is readable.
    const workspace = newWorkspace();
    const plan = planWasmRun('python', '', { workspace, memoryBytes: 256 * MiB });
    if ('error' in plan) throw new Error(plan.error);
    const flags = plan.command.args.filter((a) => a.startsWith('--'));
    const scriptIndex = plan.command.args.findIndex((a) => !a.startsWith('--'));
    assert.deepEqual(plan.command.args.slice(0, scriptIndex), flags.slice(0, scriptIndex));
    const probePath = join(workspace, 'probe.mjs');
    writeFileSync(
      probePath,
      `import fs from 'node:fs';
import cp from 'node:child_process';
const out = {};
for (const p of ${JSON.stringify(['/etc/passwd', '/proc/self/environ', join(homedir(), '.ssh', 'id_rsa'), join(root, 'secret'), join(repo, 'package.json')])}) {
  try { fs.readFileSync(p); out[p] = 'read'; } catch (e) { out[p] = e.code; }
}
try { fs.writeFileSync(${JSON.stringify(join(root, 'written-outside'))}, 'x'); out.write = 'written'; } catch (e) { out.write = e.code; }
try { cp.spawnSync('/bin/true'); out.spawn = 'spawned'; } catch (e) { out.spawn = e.code; }
try { new (await import('node:worker_threads')).Worker('1', { eval: true }); out.worker = 'started'; } catch (e) { out.worker = e.code; }
out.env = Object.keys(process.env);
console.log(JSON.stringify(out));
`,
    );
    const { stdout } = await promisify(execFile)(
      plan.command.file,
      [...plan.command.args.slice(0, scriptIndex), probePath],
      { env: plan.env, cwd: workspace },
    );
    const out = JSON.parse(stdout) as Record<string, unknown>;
    for (const [key, value] of Object.entries(out)) {
      if (key === 'env') continue;
      assert.equal(value, 'ERR_ACCESS_DENIED', `${key}: ${String(value)}`);
    }
    assert.deepEqual(out.env, Object.keys(plan.env));
    assert.ok(!existsSync(join(root, 'written-outside')));
  });
});

describe('wasm tier: from the bundle', () => {
  test('the plan finds the runtime beside an esbuild bundle, without node_modules, via a link', async (t) => {
    // Under /tmp there is no node_modules up the tree, so only the copies can be found.
    const dir = mkdtempSync(join(tmpdir(), 'cog-tools-wasm-bundle-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { planWasmRun, locateWasmRuntime } from ${JSON.stringify(join(repo, 'server/tools/wasm/plan.ts'))};
import { runChild } from ${JSON.stringify(join(repo, 'server/tools/child.ts'))};
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
    copySqlRunner(join(dir, 'dist'));
    const { copyWasmRuntime } = (await import(
      join(repo, 'server/tools/wasm/bundle-files.mjs')
    )) as { copyWasmRuntime(outDir: string): Promise<void> };
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

/** The two SQL copies esbuild.mjs makes beside the bundle. */
function copySqlRunner(dist: string): void {
  copyFileSync(join(repo, 'server/tools/sql-runner.mjs'), join(dist, 'sql-runner.mjs'));
  copyFileSync(join(repo, 'node_modules/sql.js/dist/sql-asm.js'), join(dist, 'sql-asm.cjs'));
}
