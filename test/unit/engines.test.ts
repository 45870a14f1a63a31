/**
 * Every package the lockfile installs must accept the Node that package.json's `engines`
 * promises: otherwise `npm install` warns (or a dependency breaks) on a Node Cog claims to
 * support. The runtime's own dependencies accept Node 20.0; the development toolchain
 * (eslint) needs 20.19, so that is the declared minimum for a checkout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

type Version = [number, number, number];

/** "20", "20.19", "10.x", "20.19.0" → its lowest version and how many parts were given. */
function parseVersion(text: string): { v: Version; parts: number } {
  const nums = text.split('.').filter((p) => p !== '' && p !== 'x' && p !== '*');
  const v = [0, 0, 0].map((_, i) => Number(nums[i] ?? 0)) as Version;
  if (v.some((n) => !Number.isInteger(n))) throw new Error(`not a version: ${text}`);
  return { v, parts: nums.length };
}

const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `v` satisfies one comparator: >=, >, <=, <, =, ^, ~ or a bare (partial) version. */
function satisfiesComparator(v: Version, comparator: string): boolean {
  if (comparator === '*' || comparator === '') return true;
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(.+)$/.exec(comparator);
  if (!m) throw new Error(`not a comparator: ${comparator}`);
  const [, op = '', text = ''] = m;
  const { v: at, parts } = parseVersion(text);
  const below = (upper: Version) => cmp(v, at) >= 0 && cmp(v, upper) < 0;
  switch (op) {
    case '>=':
      return cmp(v, at) >= 0;
    case '>':
      return cmp(v, at) > 0;
    case '<=':
      return cmp(v, at) <= 0;
    case '<':
      return cmp(v, at) < 0;
    case '^':
      return below(at[0] > 0 ? [at[0] + 1, 0, 0] : [0, at[1] + 1, 0]);
    case '~':
      return below(parts < 2 ? [at[0] + 1, 0, 0] : [at[0], at[1] + 1, 0]);
    default:
      // A bare or partial version is the range it names: "20" is 20.x.x.
      if (parts >= 3) return cmp(v, at) === 0;
      return below(parts === 2 ? [at[0], at[1] + 1, 0] : [at[0] + 1, 0, 0]);
  }
}

/** npm's range syntax as used by engines fields: `||` of space-separated comparators. */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version).v;
  return range.split('||').some((set) =>
    set
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .every((c) => satisfiesComparator(v, c)),
  );
}

test('the range check reads engines fields as npm does', () => {
  assert.ok(satisfies('20.19.0', '>=20'));
  assert.ok(satisfies('20.19.0', '^18.18.0 || ^20.9.0 || >=21.1.0'));
  assert.ok(!satisfies('20.0.0', '^18.18.0 || ^20.9.0 || >=21.1.0'));
  assert.ok(satisfies('20.19.0', '18 || 20 || >=22'));
  assert.ok(!satisfies('21.0.0', '18 || 20 || >=22'));
  assert.ok(satisfies('20.19.0', '>= 10.x'));
  assert.ok(!satisfies('20.19.0', '>=22'));
  assert.ok(satisfies('20.19.0', '>=16 || 14 >=14.17'));
  assert.ok(!satisfies('20.19.0', '>=0.6.11 <=0.7.0 || >=0.7.3 <1'));
  assert.ok(satisfies('20.19.0', '^20.19.0 || ^22.13.0 || >=24'));
  assert.ok(!satisfies('20.18.0', '^20.19.0 || ^22.13.0 || >=24'));
});

test('every installed package accepts the Node that package.json promises', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  const min = /^>=\s*(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
  assert.ok(min, `package.json engines.node is a plain minimum (>=X.Y.Z): ${pkg.engines.node}`);
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  const refused: string[] = [];
  for (const [path, info] of Object.entries(lock.packages)) {
    const range = !Array.isArray(info.engines) ? info.engines?.node : undefined;
    if (path && range && !satisfies(min, range)) refused.push(`${path}: node ${range}`);
  }
  assert.deepEqual(refused, [], `these refuse Node ${min}`);
});
