import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { planWasmRun } from '../../server/processes/wasm/plan.js';
import { assertExit, MiB, repo, setUpWasmTests, type Ran } from './processes-wasm-harness.js';

// Programs trying to get out of the wasm tier, each of which must fail: to JavaScript, the
// network, the host's files, processes and environment; and the host process itself.
const { root, SECRET, newWorkspace, run } = setUpWasmTests();

function exitCode(ran: Ran): number | null {
  return ran.outcome.kind === 'exited' ? ran.outcome.code : null;
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
