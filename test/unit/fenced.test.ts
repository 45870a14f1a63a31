import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FenceGate, findBlocks, parseFenced } from '../../server/runtime/nodes/fenced.js';

test('prose and untagged blocks are never run', () => {
  const text =
    'Sure, here is the idea:\n\n```\nfirst we add the numbers, then we print them\n```\nDone.';
  const parsed = parseFenced(text);
  assert.deepEqual(parsed.runs, []);
  assert.match(parsed.prose, /first we add the numbers/);
});

test('a bash block is not run, and never as Python', () => {
  const parsed = parseFenced('Run this:\n```bash\nimport os\necho hi\n```\n');
  assert.deepEqual(parsed.runs, []);
  assert.match(parsed.prose, /```bash/);
});

test('Python that mentions SELECT and CREATE stays Python', () => {
  const code = 'q = "CREATE TABLE t(x); SELECT * FROM t"\nprint(q)';
  const parsed = parseFenced(`\`\`\`python\n${code}\n\`\`\``);
  assert.deepEqual(parsed.runs, [{ language: 'python', code }]);
});

test('tagged blocks run as their own language, controls parse as JSON', () => {
  const text = [
    'Computing.',
    '```sql',
    'SELECT 1;',
    '```',
    '```js',
    'console.log(2)',
    '```',
    '```controls',
    '[{"type":"button","label":"Go","action":"go"}]',
    '```',
    'Bye.',
  ].join('\n');
  const parsed = parseFenced(text);
  assert.deepEqual(parsed.runs, [
    { language: 'sql', code: 'SELECT 1;' },
    { language: 'javascript', code: 'console.log(2)' },
  ]);
  assert.deepEqual(parsed.controls, [{ type: 'button', label: 'Go', action: 'go' }]);
  assert.equal(parsed.prose, 'Computing.\n\nBye.');
});

test('a controls block that is not JSON is reported, not rendered', () => {
  const parsed = parseFenced('```controls\n[{type: button}]\n```');
  assert.equal(parsed.controls.length, 0);
  assert.equal(parsed.errors.length, 1);
});

test('an unclosed fence is not a block', () => {
  assert.deepEqual(findBlocks('```python\nprint(1)\n'), []);
});

test('FenceGate streams prose and holds code from the first fence on', () => {
  const passed: string[] = [];
  const gate = new FenceGate((t) => passed.push(t));
  for (const piece of ['Let me ', 'compute `', '`', '`python\nprint(', '1)\n```\n', 'after'])
    gate.push(piece);
  assert.equal(passed.join(''), 'Let me compute ');
  assert.equal(gate.take(), '```python\nprint(1)\n```\nafter');
});
