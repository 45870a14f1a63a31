import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryState } from '../../protocol/events.js';
import { INITIAL_MEMORY } from '../../server/runtime/nodes/memorizer.js';
import { createSensor, type SensorTarget } from '../../server/runtime/sensor.js';

function target(id: string, onTick: SensorTarget['onTick'], memory = () => INITIAL_MEMORY) {
  let version = 0;
  let last = memory();
  return {
    id,
    lastActivity: () => start,
    memory,
    memoryVersion: () => {
      if (memory() !== last) {
        last = memory();
        version++;
      }
      return version;
    },
    onTick,
  };
}
let start = 0;

test('one scheduler ticks every session and reports only changes, never the clock alone', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.parse('2026-11-25T10:00:00Z') });
  start = Date.now();
  const sensor = createSensor({ intervalMs: 5000 });
  const ticks: Record<string, Record<string, string>[]> = { a: [], b: [] };
  let memory: MemoryState = INITIAL_MEMORY;
  for (const id of ['a', 'b']) {
    sensor.track(
      target(
        id,
        (_readings, deltas) => ticks[id]!.push(deltas),
        () => memory,
      ),
    );
  }
  t.mock.timers.tick(5000);
  assert.equal(ticks.a!.length, 0, 'the clock moved, nothing else: nothing reported');
  assert.match(sensor.readings('a').clock!, /^2026-11-25 \d\d:\d\d Wednesday$/);
  for (let i = 0; i < 24; i++) t.mock.timers.tick(5000); // two minutes later: idle over 60 s
  assert.deepEqual(
    ticks.a!.map((d) => d.idle),
    ['over 30s', 'over 1m'],
    'each idle band crossed is reported once',
  );
  assert.equal(ticks.a!.at(-1)!.idle, 'over 1m');
  assert.equal(ticks.b!.length, 2, 'the same timer serves the second session');
  memory = { ...INITIAL_MEMORY, user_name: 'Ada' };
  t.mock.timers.tick(5000);
  assert.match(ticks.a!.at(-1)!.memory!, /user_name="Ada"/);
  assert.equal(Object.keys(ticks.a!.at(-1)!).join(), 'memory', 'the clock is no delta');
  const digest = sensor.digest('a');
  assert.match(digest, /Sensors: clock 2026-11-25/);
  assert.match(digest, /Since last turn/);
  assert.match(digest, /idle over 1m/);
  assert.match(digest, /user_name/);
  assert.doesNotMatch(sensor.digest('a'), /Since last turn/, 'the digest is consumed');
  sensor.close();
});

test('dormant sessions cost nothing: no ticks, and no timer once all are dormant', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  start = 0;
  const sensor = createSensor({ intervalMs: 60_000 });
  let count = 0;
  let reads = 0;
  for (let i = 0; i < 1000; i++) {
    const base = target(`s${i}`, () => count++);
    sensor.track({
      ...base,
      lastActivity: () => {
        reads++;
        return 0;
      },
    });
  }
  t.mock.timers.tick(31 * 60_000);
  const before = { count, reads };
  t.mock.timers.tick(120 * 60_000);
  assert.equal(count, before.count, 'no ticks for a dormant session');
  assert.equal(reads, before.reads, 'not even a look at a dormant session');
  sensor.wake('s1');
  t.mock.timers.tick(60_000);
  assert.ok(reads > before.reads, 'a woken session is ticked again');
  sensor.close();
});

test('a session loaded long after its last message writes nothing, and the digest says so', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 10 * 3600_000 });
  start = 0; // ten hours ago
  const sensor = createSensor({ intervalMs: 5000 });
  let ticks = 0;
  sensor.track(target('old', () => ticks++));
  for (let i = 0; i < 10; i++) t.mock.timers.tick(5000);
  assert.equal(ticks, 0, 'no sensor.tick for where it already was');
  assert.equal(sensor.readings('old').idle, 'over 30m');
  assert.match(sensor.digest('old'), /Since last turn .*idle over 30m/);
  sensor.close();
});
