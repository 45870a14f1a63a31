import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cogEnv, ensureBuilt, spawnCog } from '../helpers/cog-process.js';
import { JsonLines, type Wire } from '../helpers/json-lines.js';
import { tempHome } from '../helpers/runtime.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

const home = tempHome('cog-mcp-fuzz-');
after(() => home.cleanup());
before(() => ensureBuilt());

/** mulberry32: a small seeded PRNG, so a failure replays exactly. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20_261_125;
const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const valid = (id: string) =>
  pick([
    { jsonrpc: '2.0', id, method: 'ping' },
    { jsonrpc: '2.0', id, method: 'tools/list' },
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'sessions', arguments: {} } },
    // Deep but well-formed params are still a valid ping.
    {
      jsonrpc: '2.0',
      id,
      method: 'ping',
      params: { deep: JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`) },
    },
  ]);

/** Lines that are not JSON-RPC messages; each must be answered with exactly one error. */
const malformed: (() => string)[] = [
  () => Array.from({ length: 1 + int(40) }, () => pick([...'abcxyz{}[]":,0123 \\'])).join('') + 'x',
  () => {
    const full = JSON.stringify({ jsonrpc: '2.0', id: int(1000), method: 'tools/list' });
    return full.slice(0, 1 + int(full.length - 1)); // a strict prefix of an object never parses
  },
  () => JSON.stringify({ jsonrpc: pick(['1.0', '2', 2, null, '']), id: int(99), method: 'ping' }),
  () => JSON.stringify({ id: int(99), method: 'ping' }),
  () => JSON.stringify({ jsonrpc: '2.0', id: int(99), method: pick([1, null, true, {}, []]) }),
  () => JSON.stringify({ jsonrpc: '2.0', id: pick([{}, [], true, 1.5]), method: 'ping' }),
  () =>
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: pick(['x', 5, [1], true]) }),
  () => `{"jsonrpc":"2.0","id":${pick(['1e400', '-1e999', '1' + '0'.repeat(400)])},"method":7}`,
  () => JSON.stringify({ jsonrpc: '2.0', id: 'x'.repeat(10_000), method: null }),
  () => pick(['null', 'true', '0', '"str"', '{}', '[]', '[1,2,3]', '[null]']),
  () => JSON.stringify([{ jsonrpc: '2.0', id: `b${int(99)}`, method: 'ping' }]), // a batch: never accepted
  () => `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  () => `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
  () => `{"jsonrpc":"2.0","id":3,"result":${pick(['1', '"x"', 'null'])}}`,
  () => JSON.stringify({ jsonrpc: '2.0', id: 4, error: { code: 'nope' } }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping', extra: true }),
  () => {
    // Random bytes (no newline), led by a byte that is neither whitespace nor valid JSON.
    const bytes = Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256)));
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) bytes[i] = 0x41;
    return `\u00ff${bytes.toString('latin1')}`;
  },
];

test('1,200 malformed lines among valid calls: every one answered, the process lives', async () => {
  const p = spawnCog(['mcp'], cogEnv(home.home));
  const out = new JsonLines(p.child.stdout);
  const write = (line: string | Buffer) =>
    new Promise<void>((resolve) => {
      if (p.child.stdin.write(line)) resolve();
      else p.child.stdin.once('drain', resolve);
    });
  await write(`${JSON.stringify(initializeRequest('init', 'fuzz'))}\n`);
  await out.next((m) => m.id === 'init');
  await write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');

  const MALFORMED = 1200;
  const validIds: string[] = [];
  let bad = 0;
  for (let i = 0; bad < MALFORMED; i++) {
    if (i % 5 === 0) {
      const id = `v${i}`;
      validIds.push(id);
      await write(`${JSON.stringify(valid(id))}\n`);
    } else {
      bad++;
      await write(`${pick(malformed)()}\n`);
    }
  }
  // Two lines over the 4 MiB limit, the second in small pieces.
  await write(`${'z'.repeat(5 * 1024 * 1024)}\n`);
  for (let i = 0; i < 80; i++) await write(Buffer.alloc(64 * 1024, 0x20));
  await write('"tail"\n');
  bad += 2;

  const expected = 1 + validIds.length + bad; // + the initialize reply
  await out.count(expected, 30_000);
  const replies = out.messages as Wire[];
  assert.deepEqual(out.nonJson, [], 'nothing but JSON on stdout');
  const byId = new Map(replies.map((m) => [m.id, m]));
  for (const id of validIds) {
    const r = byId.get(id);
    assert.ok(r && r.result && !r.error, `valid call ${id} answered with a result`);
  }
  const errors = replies.filter((m) => m.error);
  assert.equal(errors.length, bad, 'one error per malformed line');
  for (const e of errors) {
    assert.ok([-32700, -32600].includes(e.error!.code), JSON.stringify(e).slice(0, 200));
    assert.equal(e.jsonrpc, '2.0');
  }
  assert.equal(replies.length, expected, 'nothing unasked for');

  assert.equal(p.child.exitCode, null, 'still running');
  await write('{"jsonrpc":"2.0","id":"last","method":"ping"}\n');
  assert.deepEqual((await out.next((m) => m.id === 'last')).result, {});
  p.child.stdin.end();
  assert.equal(await p.exited, 0, p.stderr());
});
