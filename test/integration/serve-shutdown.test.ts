import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connectHttp, startServe } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} with a client connected and stdin held open: cog serve exits within 2 s`, async () => {
    const home = tempHome();
    homes.push(home);
    // As the VS Code extension runs it: --exit-with-stdin, the parent keeping stdin open.
    const started = await startServe(home.home, { args: ['--exit-with-stdin'] });
    const serve = started.serve;
    try {
      const client = await connectHttp(started, 'shutdown-test');
      await client.callTool({ name: 'sessions', arguments: { action: 'list' } });
      const t0 = Date.now();
      serve.child.kill(signal);
      const code = await Promise.race([
        serve.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 2_000)),
      ]);
      assert.equal(code, 0, `exit after ${Date.now() - t0} ms; stderr:\n${serve.stderr()}`);
      assert.equal(existsSync(join(home.home, 'runtime.lock')), false, 'the home is released');
      await client.close().catch(() => undefined);
    } finally {
      serve.child.kill('SIGKILL');
    }
  });
}
