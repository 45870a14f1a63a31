import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryState } from '../../protocol/events.js';
import { INITIAL_MEMORY } from '../../server/runtime/nodes/memorizer.js';
import { createSensor } from '../../server/runtime/sensor.js';

test('one scheduler ticks every session and reports only deltas', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.parse('2026-11-25T10:00:00Z') });
  const sensor = createSensor({ intervalMs: 5000 });
  const ticks: Record<string, Record<string, string>[]> = { a: [], b: [] };
  let memory: MemoryState = INITIAL_MEMORY;
  const start = Date.now();
  for (const id of ['a', 'b']) {
    sensor.track({
      id,
      lastActivity: () => start,
      memory: () => memory,
      onTick: (_readings, deltas) => ticks[id]!.push(deltas),
    });
  }
  t.mock.timers.tick(5000);
  assert.ok(ticks.a![0]!.clock, 'first tick reads the clock');
  assert.equal(ticks.b!.length, 1, 'the same timer serves the second session');
  t.mock.timers.tick(5000);
  assert.equal(ticks.a!.length, 1, 'nothing changed: no tick reported');
  t.mock.timers.tick(25_000); // 35 s idle
  assert.equal(ticks.a!.at(-1)!.idle, 'over 30s');
  memory = { ...INITIAL_MEMORY, user_name: 'Ada' };
  t.mock.timers.tick(5000);
  assert.match(ticks.a!.at(-1)!.memory!, /user_name="Ada"/);
  const digest = sensor.digest('a');
  assert.match(digest, /Since last turn/);
  assert.match(digest, /idle over 30s/);
  assert.match(digest, /user_name/);
  assert.doesNotMatch(sensor.digest('a'), /Since last turn/, 'the digest is consumed');
  sensor.close();
});

test('a session idle past the last threshold goes dormant', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  const sensor = createSensor({ intervalMs: 60_000 });
  let count = 0;
  sensor.track({
    id: 's',
    lastActivity: () => 0,
    memory: () => INITIAL_MEMORY,
    onTick: () => count++,
  });
  t.mock.timers.tick(31 * 60_000);
  const before = count;
  t.mock.timers.tick(120 * 60_000);
  assert.equal(count, before, 'no ticks for a dormant session');
  sensor.close();
});
