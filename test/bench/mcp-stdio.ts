/**
 * Time from a `send` tool call to its first progress notification over stdio: `cog mcp`
 * spawned against the fixture model (in its own process, a fixed latency before each
 * reply's first byte), in fast mode, timed by an SDK client in this process.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import { reply } from '../fixtures/openai-steps.js';
import { startFixtureProcess, type FixtureProcess } from '../fixtures/openai-server-process.js';
import { cogBin, cogEnv, root } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

export interface FirstProgressOptions {
  latencyMs: number;
  /** Measured sends, after one that warms up. */
  sends: number;
}

export interface FirstProgress {
  /** Send → first progress notification, one per measured send, in ms. */
  samples: number[];
  /** Model calls the runtime made before its first token (from the turn's timing). */
  callsBeforeFirstToken: number;
}

/** A direct reply: no tool run, the shortest way to the first token. */
async function script(fixture: FixtureProcess) {
  await fixture.reset();
  await fixture.script('input', [reply.text('The user asks something.')]);
  await fixture.script('thinker', [reply.text('The answer is 42.')]);
  await fixture.script('output', [reply.text('Here is the answer: 42.')]);
  await fixture.script('memorizer', [reply.text('{"topic":"bench"}')]);
}

export async function benchFirstProgress(opts: FirstProgressOptions): Promise<FirstProgress> {
  const fixture = await startFixtureProcess({ latencyMs: opts.latencyMs });
  const home = tempHome('cog-bench-stdio-');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cogBin, 'mcp'],
    cwd: root,
    env: cogEnv(home.home, {
      COG_LLM_BASE_URL: fixture.url,
      COG_LLM_API_KEY: 'bench',
      COG_MODEL: 'm',
      COG_PIPELINE: 'fast',
    }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'cog-bench-stdio', version: '0.0.0' });
  // The memorizer runs after the reply; waiting for it keeps one send's tail out of the
  // next one's measurement. It is announced on the HUD logger at the default level.
  const memorized = new Set<string>();
  const waiters = new Map<string, () => void>();
  client.setNotificationHandler(LoggingMessageNotificationSchema, ({ params }) => {
    const e = params.data as RuntimeEvent;
    if (e.node !== 'memorizer' || (e.type !== 'node.done' && e.type !== 'node.error')) return;
    if (e.turn === undefined) return;
    memorized.add(e.turn);
    waiters.get(e.turn)?.();
  });
  const memorizerDone = (turn: string) =>
    new Promise<void>((resolve, reject) => {
      if (memorized.has(turn)) return resolve();
      const timer = setTimeout(() => reject(new Error(`no memorizer for ${turn}`)), 10_000);
      waiters.set(turn, () => {
        clearTimeout(timer);
        resolve();
      });
    });

  try {
    await client.connect(transport);
    const samples: number[] = [];
    let session: string | undefined;
    let calls = 0;
    for (let i = 0; i <= opts.sends; i++) {
      await script(fixture);
      let first: number | undefined;
      const sent = performance.now();
      const result = await client.callTool(
        { name: 'send', arguments: { text: `question ${i}`, ...(session ? { session } : {}) } },
        undefined,
        {
          onprogress: () => (first ??= performance.now()),
          timeout: 30_000,
        },
      );
      const out = result.structuredContent as {
        session: string;
        turn: string;
        status: string;
        timing: { callsBeforeFirstToken: number };
      };
      if (out?.status !== 'ok' || first === undefined) {
        throw new Error(`send ${i} did not stream: ${JSON.stringify(result)}\n${stderr}`);
      }
      session = out.session;
      calls = out.timing.callsBeforeFirstToken;
      await memorizerDone(out.turn);
      if (i > 0) samples.push(first - sent); // the first send warms up
    }
    return { samples, callsBeforeFirstToken: calls };
  } finally {
    await client.close();
    await fixture.close();
    home.cleanup();
  }
}
