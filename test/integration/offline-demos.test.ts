/**
 * The offline engine's demonstrations, end to end through the real runtime and real code
 * runs: help lists them; a slow count streams and can be cancelled midway; the sandbox
 * probe is refused everything (Cog's own token included) in the tier in force, on the
 * strongest tier here and on the WebAssembly tier every OS has; buttons come back as
 * actions.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { SandboxSetting } from '../../server/processes/tiers.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

const OWNER = 'local:test';
const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));

async function offline(sandbox: SandboxSetting = 'auto') {
  const home = tempHome('cog-demos-');
  homes.push(home);
  const runtime = await createRuntime(testConfig(home.home, { sandbox, approval: 'auto' }));
  const { id } = await runtime.createSession(OWNER);
  const events: RuntimeEvent[] = [];
  await runtime.subscribe(id, OWNER, (e) => events.push(e));
  return { runtime, id, events, home: home.home };
}

const outputOf = (events: RuntimeEvent[]) =>
  events.map((e) => (e.type === 'process.output' ? e.text : '')).join('');

test('help lists every demo, with buttons for them', async () => {
  const { runtime, id } = await offline();
  const result = await runtime.send(id, OWNER, 'help');
  for (const say of [
    'what is 17*23?',
    'count slowly to 20',
    'try to read my ssh key',
    'show me buttons',
  ]) {
    assert.ok(result.text.includes(say), `help mentions “${say}”:\n${result.text}`);
  }
  const actions = result.controls.flatMap((c) => (c.type === 'button' ? [c.action] : []));
  assert.deepEqual(actions, ['count', 'sandbox', 'table', 'help']);
  assert.ok(result.model.offline);
  await runtime.close();
});

test('"count slowly to 20" streams one number at a time and can be cancelled midway', async () => {
  const { runtime, id, events } = await offline();
  const turn = runtime.send(id, OWNER, 'count slowly to 20');
  const deadline = Date.now() + 60_000;
  while (!/\b3\n/.test(outputOf(events))) {
    assert.ok(Date.now() < deadline, `no live output:\n${outputOf(events)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(runtime.cancelTurn(id, OWNER));
  const result = await turn;
  assert.equal(result.status, 'cancelled');
  const last = events.filter((e) => e.type === 'process.updated').at(-1);
  assert.equal(last?.type === 'process.updated' && last.process.status, 'cancelled');
  assert.doesNotMatch(outputOf(events), /\b20\n/, 'it stopped before the end');
  await runtime.close();
});

for (const sandbox of ['auto', 'wasm'] as const) {
  test(`"try to read my ssh key" is refused everything, and names the tier (${sandbox})`, async () => {
    const { runtime, id, events, home } = await offline(sandbox);
    // A real secret where the probe looks: Cog's own bearer token file.
    writeFileSync(join(home, 'token'), 'cog-secret-token-value\n', { mode: 0o600 });
    const result = await runtime.send(id, OWNER, 'try to read my ssh key');
    assert.equal(result.status, 'ok', result.error);
    const proc = events.filter((e) => e.type === 'process.updated').at(-1);
    assert.ok(proc?.type === 'process.updated' && proc.process.status === 'done');
    const tier = proc.process.isolation;
    assert.notEqual(tier, 'none');
    if (sandbox === 'wasm') assert.equal(tier, 'wasm');
    const out = outputOf(events);
    assert.match(out, /denied Cog's bearer token/);
    assert.match(out, /denied the network/);
    assert.doesNotMatch(out, /READ|REACHED|cog-secret-token-value/);
    assert.match(result.text, /Everything it tried was refused/);
    assert.match(
      result.text,
      new RegExp(`sandboxed \\(${tier === 'wasm' ? 'WebAssembly' : tier}`, 'i'),
    );
    await runtime.close();
  });
}

test('"show me buttons" shows buttons; pressing one runs its demo', async () => {
  const { runtime, id } = await offline();
  const shown = await runtime.send(id, OWNER, 'show me buttons');
  const table = shown.controls.find((c) => c.type === 'button' && c.action === 'table');
  assert.ok(table && table.type === 'button');
  const pressed = await runtime.action(id, OWNER, { action: table.action });
  assert.ok(pressed.controls.some((c) => c.type === 'table'));
  const count = shown.controls.find((c) => c.type === 'button' && c.action === 'count');
  assert.ok(count && count.type === 'button');
  const counted = await runtime.action(id, OWNER, { action: 'count', data: { to: 2 } });
  assert.match(counted.text, /Counted to 2/);
  await runtime.close();
});
