import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Isolation } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { DEFAULT_LIMITS } from '../../server/processes/types.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { connect, data, textOf, type Connected } from '../integration/mcp-core-harness.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

/**
 * Files the user shares with a session's code runs, in every contained tier here: a run
 * reads them at shared/<path>, every way of writing them fails, nothing but them is there,
 * and neither Cog's copies nor the user's originals change. The originals live in a
 * "project" folder the runtime is never told about: the content travels in `send`.
 */
const TIERS: Exclude<Isolation, 'none'>[] = ['bubblewrap', 'namespaces', 'wasm'];
const OWNER = 'local:shared';

const A = 'alpha file: 0f3c9a\n';
const B = 'beta file: 77d1e2\n';

const PYTHON = `
import os
print("READ", open("shared/src/a.txt").read().strip())
for target, how in [("shared/src/a.txt", "w"), ("shared/src/a.txt", "a"), ("shared/new.txt", "w"), ("shared/src/new.txt", "x")]:
    try:
        with open(target, how) as f:
            f.write("changed")
        print("WROTE", target, how)
    except OSError as e:
        print("DENIED", target, how)
with open("mine.txt", "w") as f:
    f.write("mine")
ops = {
    "remove": lambda: os.remove("shared/src/a.txt"),
    "rename-out": lambda: os.rename("shared/src/a.txt", "moved.txt"),
    "rename-in": lambda: os.replace("mine.txt", "shared/src/b.txt"),
    "chmod": lambda: os.chmod("shared/src/a.txt", 0o666),
    "mkdir": lambda: os.mkdir("shared/d"),
    "rmtree": lambda: os.rmdir("shared/src"),
    "truncate": lambda: os.truncate("shared/src/a.txt", 0),
}
for name, op in ops.items():
    try:
        op()
        print("CHANGED", name)
    except OSError:
        print("DENIED", name)
print("LIST", sorted(os.path.join(d, f) for d, _, fs in os.walk("shared") for f in fs))
print("AGAIN", open("shared/src/a.txt").read().strip(), open("shared/src/b.txt").read().strip())
print("HOST", [p for p in PATHS if os.path.exists(p)])
`;

/** Node's fs in the Linux tiers; the wasm tier's QuickJS has only `workspace`. */
const JAVASCRIPT = `
const api = typeof workspace !== "undefined" ? workspace : (() => {
  const fs = require("fs");
  const path = require("path");
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
  return {
    read: (n) => fs.readFileSync(n, "utf8"),
    write: (n, t) => fs.writeFileSync(n, t),
    list: () => walk("shared"),
  };
})();
console.log("READ", api.read("shared/src/a.txt").trim());
for (const name of ["shared/src/a.txt", "shared/new.txt", "shared"]) {
  try { api.write(name, "changed"); console.log("WROTE", name); }
  catch (e) { console.log("DENIED", name); }
}
console.log("LIST", JSON.stringify(api.list().filter((n) => n.startsWith("shared")).sort()));
console.log("AGAIN", api.read("shared/src/a.txt").trim(), api.read("shared/src/b.txt").trim());
for (const name of PATHS) {
  try { api.read(name); console.log("ESCAPED", name); } catch (e) { console.log("REFUSED", name); }
}
`;

for (const tier of TIERS) {
  describe(`shared files in ${tier}`, () => {
    let fixture: FixtureServer;
    let runtime: Runtime;
    let c: Connected;
    let session: string;
    let home: ReturnType<typeof tempHome>;
    let project: string;

    before(async () => {
      fixture = await startFixtureServer();
      home = tempHome('cog-shared-');
      project = join(home.home, '..', `${home.home.split('/').pop()}-project`);
      mkdirSync(join(project, 'src'), { recursive: true });
      writeFileSync(join(project, 'src', 'a.txt'), A);
      writeFileSync(join(project, 'src', 'b.txt'), B);
      writeFileSync(join(project, 'secret.txt'), 'not shared');
      const config = testConfig(home.home, {
        endpoint: { baseUrl: fixture.url, apiKey: 'k', source: 'test' },
        models: { input: 'm', thinker: 'm', output: 'm', memorizer: 'm' },
        approval: 'auto',
        sandbox: tier,
        // Generous: Pyodide takes seconds to load, more on a loaded machine.
        limits: { ...DEFAULT_LIMITS, timeoutMs: tier === 'wasm' ? 60_000 : 20_000 },
      });
      const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'k', retryBaseMs: 10 });
      runtime = await createRuntime(config, { model, sandbox: tier });
      c = await connect(runtime, OWNER);
      // The extension read these and sends their content; it never names the project.
      fixture.script('thinker', [reply.text('Shared.')]);
      const r = await c.call('send', {
        text: 'look at these',
        context: ['src/a.txt', 'src/b.txt'].map((label) => ({
          label,
          text: readFileSync(join(project, label), 'utf8'),
          kind: 'file',
          share: true,
        })),
      });
      assert.equal(r.isError, undefined, textOf(r));
      session = data<{ session: string }>(r).session;
      await runtime.settled(session);
    });
    after(async () => {
      await c?.close();
      await runtime?.close();
      await fixture?.close();
      home?.cleanup();
    });

    /** Runs `code` through the Thinker's run_code and returns what the run printed. */
    async function run(language: 'python' | 'javascript', code: string): Promise<string> {
      fixture.reset();
      let output = '';
      fixture.script('thinker', [
        reply.toolCalls([{ name: 'run_code', arguments: JSON.stringify({ language, code }) }]),
        (req) => {
          output = String(req.body.messages?.find((m) => m.role === 'tool')?.content ?? '');
          return reply.text('Done.');
        },
      ]);
      const r = await c.call('send', { text: 'run it', session });
      assert.equal(r.isError, undefined, textOf(r));
      await runtime.settled(session);
      assert.match(output, new RegExp(`: done, exit 0, ${tier}`), output);
      return output;
    }

    function assertUntouched() {
      const copies = join(home.home, 'shared');
      const dir = join(copies, readdirSync(copies)[0]);
      assert.equal(readFileSync(join(dir, 'src', 'a.txt'), 'utf8'), A, 'Cog’s copy is unchanged');
      assert.equal(readFileSync(join(dir, 'src', 'b.txt'), 'utf8'), B);
      assert.deepEqual(readdirSync(dir), ['src']);
      assert.deepEqual(readdirSync(join(dir, 'src')).sort(), ['a.txt', 'b.txt']);
      assert.equal(readFileSync(join(project, 'src', 'a.txt'), 'utf8'), A, 'the original too');
      assert.equal(readFileSync(join(project, 'src', 'b.txt'), 'utf8'), B);
    }

    test(`${tier}: the Thinker is told where the files are`, () => {
      const first = fixture.requests.find((r) => r.node === 'thinker');
      const system = String(first?.body.messages?.[0]?.content ?? '');
      // After `before`, the latest request is the share's own turn: it names both files.
      assert.ok(first, 'the Thinker was called');
      assert.ok(system.includes('shared/src/a.txt, shared/src/b.txt'), system);
      assert.match(system, /read-only/);
    });

    test(`${tier}: python reads the shared files and cannot change or add to them`, async () => {
      const secretPaths = [join(project, 'secret.txt'), join(project, 'src', 'a.txt'), home.home];
      const out = await run('python', `PATHS = ${JSON.stringify(secretPaths)}\n${PYTHON}`);
      assert.match(out, /READ alpha file: 0f3c9a/);
      assert.doesNotMatch(out, /WROTE|CHANGED/, out);
      for (const what of [
        'remove',
        'rename-out',
        'rename-in',
        'chmod',
        'mkdir',
        'rmtree',
        'truncate',
      ])
        assert.match(out, new RegExp(`DENIED ${what}\\b`), `${what}: ${out}`);
      assert.match(out, /LIST \['shared\/src\/a\.txt', 'shared\/src\/b\.txt'\]/);
      assert.match(out, /AGAIN alpha file: 0f3c9a beta file: 77d1e2/);
      assert.match(out, /HOST \[\]/, 'neither the project nor Cog’s home is visible');
      assertUntouched();
      // The run's own file went to its workspace; the shared files did not.
      const ws = join(home.home, 'workspaces');
      const mine = readdirSync(ws).map((k) => join(ws, k));
      assert.ok(
        mine.some((d) => existsSync(join(d, 'mine.txt'))),
        'the run could write its own',
      );
      for (const d of mine) {
        const inShared = existsSync(join(d, 'shared')) ? readdirSync(join(d, 'shared')) : [];
        assert.deepEqual(inShared, [], 'nothing of the shared files is left in the workspace');
      }
    });

    test(`${tier}: javascript reads the shared files and cannot write them`, async () => {
      const paths = [join(project, 'secret.txt'), join(project, 'src', 'a.txt'), '../secret.txt'];
      const out = await run('javascript', `const PATHS = ${JSON.stringify(paths)};\n${JAVASCRIPT}`);
      assert.match(out, /READ alpha file: 0f3c9a/);
      assert.doesNotMatch(out, /WROTE|ESCAPED/, out);
      assert.match(out, /DENIED shared\/src\/a\.txt/);
      assert.match(out, /DENIED shared\/new\.txt/);
      assert.match(out, /LIST \["shared\/src\/a\.txt","shared\/src\/b\.txt"\]/);
      assert.match(out, /AGAIN alpha file: 0f3c9a beta file: 77d1e2/);
      assertUntouched();
    });
  });
}
