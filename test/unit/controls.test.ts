import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseControls } from '../../protocol/controls.js';

test('valid controls pass; malformed ones are dropped with a reason each', () => {
  const { controls, rejected } = parseControls([
    { type: 'button', label: 'Refresh', action: 'refresh', data: { page: 2 } },
    { type: 'table', columns: ['id', 'name'], rows: [[1, 'Ada'], { id: 2, name: 'Grace' }] },
    { type: 'process', processId: 'p-1' },
    { type: 'button', label: 'x', action: 'rm -rf /' },
    { type: 'iframe', src: 'https://example.com' },
    { type: 'button', label: '', action: 'go' },
    { type: 'table', columns: [], rows: [] },
    { type: 'button', label: 'ok', action: 'ok', onclick: 'alert(1)' },
    'not an object',
  ]);
  assert.equal(controls.length, 3);
  assert.deepEqual(controls[1], {
    type: 'table',
    columns: ['id', 'name'],
    rows: [
      [1, 'Ada'],
      [2, 'Grace'],
    ],
  });
  assert.equal(rejected.length, 6);
  assert.match(rejected[0]!, /action/);
});

test('a single object is accepted as a list of one', () => {
  assert.equal(parseControls({ type: 'process', processId: 'p-9' }).controls.length, 1);
});
