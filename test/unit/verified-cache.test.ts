import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerifiedTokenCache } from '../../server/auth/verified-cache.js';

const claims = (expSec: number) => ({ sub: 'ada', exp: expSec });

test('a verified token is served for its audience until maxAge or exp + leeway', () => {
  let now = 1_000_000_000;
  const cache = new VerifiedTokenCache(60_000, () => now);
  const exp = now / 1000 + 300;
  cache.set('tok', 'aud-a', claims(exp), 5);
  assert.deepEqual(cache.get('tok', 'aud-a'), claims(exp));
  assert.equal(cache.get('tok', 'aud-b'), undefined, 'another audience');
  assert.equal(cache.get('tok2', 'aud-a'), undefined, 'another token');
  now += 59_999;
  assert.ok(cache.get('tok', 'aud-a'));
  now += 1;
  assert.equal(cache.get('tok', 'aud-a'), undefined, 'maxAge reached');
  assert.equal(cache.size, 0, 'the stale entry is dropped');

  // A token that expires sooner than maxAge ends at exp + leeway.
  const soon = now / 1000 + 10;
  cache.set('short', 'aud-a', claims(soon), 5);
  now += 14_999;
  assert.ok(cache.get('short', 'aud-a'));
  now += 1;
  assert.equal(cache.get('short', 'aud-a'), undefined, 'exp + leeway reached');
});

test('nothing is kept without exp, already expired, or with the cache off; oldest out first', () => {
  const now = 1_000_000_000;
  const cache = new VerifiedTokenCache(60_000, () => now, 2);
  cache.set('no-exp', 'a', { sub: 'x' }, 5);
  cache.set('expired', 'a', claims(now / 1000 - 10), 5);
  assert.equal(cache.size, 0);
  const exp = now / 1000 + 300;
  cache.set('one', 'a', claims(exp), 0);
  cache.set('two', 'a', claims(exp), 0);
  cache.set('three', 'a', claims(exp), 0);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('one', 'a'), undefined, 'the oldest left');
  assert.ok(cache.get('two', 'a') && cache.get('three', 'a'));

  const off = new VerifiedTokenCache(0, () => now);
  off.set('one', 'a', claims(exp), 0);
  assert.equal(off.get('one', 'a'), undefined);
});
