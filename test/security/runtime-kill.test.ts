import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { connectHttp, ensureBuilt, startServe } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';
import { assertNoneAlive, processesWith } from './battery.js';

/**
 * Nothing model-written outlives the runtime: a real `cog serve` is SIGKILLed while its
 * run has escapees (setsid, double fork) alive; they must die with it, in each Linux
 * tier. The next runtime on the same home then starts and runs code as before.
 */
let fixture: FixtureServer;
before(async () => {
  await ensureBuilt();
  fixture = await startFixtureServer();
});
after(() => fixture.close());

async function serve(home: string, tier: string) {
  const started = await startServe(home, {
    env: {
      COG_SANDBOX: tier,
      COG_LLM_BASE_URL: fixture.url,
      COG_LLM_API_KEY: 'test-key',
      COG_MODEL: 'm',
    },
  });
  return { p: started.serve, client: await connectHttp(started, 'kill-test') };
}

for (const tier of ['bubblewrap', 'namespaces']) {
  test(`${tier}: escapees die with a SIGKILLed runtime; the next one starts clean`, async () => {
    const home = tempHome(`cog-kill-${tier}-`);
    const marker = `${randomInt(100_000_000, 999_999_999)}`;
    const code = [
      'import os, subprocess, time',
      `subprocess.Popen(['setsid', 'sleep', '${marker}.5'])`,
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      `        os.execvp('sleep', ['sleep', '${marker}.25'])`,
      '    os._exit(0)',
      'print("READY", flush=True)',
      'time.sleep(60)',
    ].join('\n');
    fixture.reset();
    fixture.script('thinker', [
      reply.toolCalls([
        { name: 'run_code', arguments: JSON.stringify({ language: 'python', code }) },
      ]),
    ]);
    const first = await serve(home.home, tier);
    try {
      const sending = first.client
        .callTool({ name: 'send', arguments: { text: 'spawn and wait' } })
        .catch(() => undefined);
      const deadline = Date.now() + 20_000;
      while (processesWith(marker).length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(processesWith(marker).length, 2, 'both escapees are running');
      first.p.child.kill('SIGKILL');
      await first.p.exited;
      await assertNoneAlive(marker, 2_000);
      await sending;
    } finally {
      first.p.child.kill('SIGKILL');
    }

    // The next runtime on the home starts cleanly and runs code in the same tier.
    fixture.script('thinker', [
      reply.toolCalls([
        { name: 'run_code', arguments: JSON.stringify({ language: 'python', code: 'print(6*7)' }) },
      ]),
      reply.text('42.'),
    ]);
    const second = await serve(home.home, tier);
    try {
      await second.client.callTool({ name: 'send', arguments: { text: 'again' } });
      const list = await second.client.callTool({ name: 'process-list', arguments: {} });
      const text = JSON.stringify(list.structuredContent);
      assert.match(text, /"status":"done"/, text);
      assert.match(text, new RegExp(`"isolation":"${tier}"`));
    } finally {
      await second.client.close();
      await second.p.stop();
      home.cleanup();
    }
  });
}
