import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { localPrincipal } from '../../server/auth/tokens.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { cogBin, cogEnv, ensureBuilt, root } from '../helpers/cog-process.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

const home = tempHome('cog-mcp-drain-');
let fixture: FixtureServer;
before(async () => {
  await ensureBuilt();
  fixture = await startFixtureServer();
});
after(async () => {
  await fixture.close();
  home.cleanup();
});

test('cog mcp: stdin closing right after a reply still stores what the Memorizer learns', async () => {
  fixture.script('thinker', [reply.text('Nice to meet you, Ada.')]);
  // The Memorizer answers well after the reply, when the client has already hung up.
  fixture.script('memorizer', [
    reply.text(JSON.stringify({ user_name: 'Ada' }), { delayMs: 1500 }),
  ]);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cogBin, 'mcp'],
    cwd: root,
    env: cogEnv(home.home, {
      COG_LLM_BASE_URL: fixture.url,
      COG_LLM_API_KEY: 'test-key',
      COG_MODEL: 'm',
    }),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'drain-test', version: '1.0.0' });
  await client.connect(transport);
  const sent = await client.callTool({ name: 'send', arguments: { text: 'I’m Ada' } });
  const session = (sent.structuredContent as { session: string }).session;
  const pid = transport.pid;
  await client.close(); // closes cog mcp's stdin
  // It exits on its own once the update is stored (well within its 10 s drain).
  const deadline = Date.now() + 10_000;
  while (pid && alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(pid !== null && alive(pid), false, 'cog mcp exited');

  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  try {
    assert.equal((await runtime.session(session, localPrincipal())).memory.user_name, 'Ada');
  } finally {
    await runtime.close();
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
