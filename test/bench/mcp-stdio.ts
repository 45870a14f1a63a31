/**
 * Time from a `send` tool call to its first progress notification over stdio: `cog mcp`
 * spawned against the fixture model (in its own process, a fixed latency before each
 * reply's first byte), in fast mode, timed by an SDK client in this process.
 */
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import { reply } from '../fixtures/openai-steps.js';
import type { FixtureProcess } from '../fixtures/openai-server-process.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startStdioCog } from './stdio-wire.js';

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
export async function scriptDirect(fixture: FixtureProcess, text = 'Here is the answer: 42.') {
  await fixture.reset();
  await fixture.script('input', [reply.text('The user asks something.')]);
  await fixture.script('thinker', [reply.text(text)]);
  await fixture.script('output', [reply.text(text)]);
  await fixture.script('memorizer', [reply.text('{"topic":"bench"}')]);
}

/**
 * Resolves once the memorizer of a turn has ended, so that one send's tail stays out of
 * the next one's measurement. Needs the HUD at `info` or below (node.done is info).
 */
export function memorizerWatch(client: Client): (turn: string) => Promise<void> {
  const memorized = new Set<string>();
  const waiters = new Map<string, () => void>();
  client.setNotificationHandler(LoggingMessageNotificationSchema, ({ params }) => {
    const e = params.data as RuntimeEvent;
    if (e.node !== 'memorizer' || (e.type !== 'node.done' && e.type !== 'node.error')) return;
    if (e.turn === undefined) return;
    memorized.add(e.turn);
    waiters.get(e.turn)?.();
  });
  return (turn) =>
    new Promise<void>((resolve, reject) => {
      if (memorized.has(turn)) return resolve();
      const timer = setTimeout(() => reject(new Error(`no memorizer for ${turn}`)), 10_000);
      waiters.set(turn, () => {
        clearTimeout(timer);
        resolve();
      });
    });
}

export async function benchFirstProgress(opts: FirstProgressOptions): Promise<FirstProgress> {
  const cog = await startStdioCog({ latencyMs: opts.latencyMs, name: 'cog-bench-stdio' });
  const { client, fixture, transport } = cog;
  try {
    await client.setLoggingLevel('info');
    const memorizerDone = memorizerWatch(client);
    const samples: number[] = [];
    let session: string | undefined;
    let calls = 0;
    for (let i = 0; i <= opts.sends; i++) {
      await scriptDirect(fixture);
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
        throw new Error(`send ${i} did not stream: ${JSON.stringify(result)}\n${transport.stderr}`);
      }
      session = out.session;
      calls = out.timing.callsBeforeFirstToken;
      await memorizerDone(out.turn);
      if (i > 0) samples.push(first - sent); // the first send warms up
    }
    return { samples, callsBeforeFirstToken: calls };
  } finally {
    await cog.close();
  }
}
