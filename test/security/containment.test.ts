import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LANGUAGES, type Isolation } from '../../protocol/events.js';
import { createTiers } from '../../server/processes/tiers.js';
import { startBattery, type Battery } from './battery.js';
import { PROBES } from './probes.js';

/**
 * The containment battery, once per isolation tier. Every tier the README promises on
 * Linux must work on the test machine (the test setup installs bubblewrap): a tier that
 * does not is a failure here, never a skip.
 */
const TIERS: Exclude<Isolation, 'none'>[] = ['bubblewrap', 'namespaces', 'wasm'];

test('every promised tier runs every language on this machine', async () => {
  const tiers = createTiers({ setting: 'auto', pathEnv: process.env.PATH ?? '' });
  try {
    const report = await tiers.report();
    for (const tier of TIERS) {
      const r = report.find((x) => x.tier === tier);
      assert.deepEqual(r?.languages, [...LANGUAGES], `${tier}: ${r?.notes.join('; ')}`);
    }
    for (const language of LANGUAGES) {
      const choice = await tiers.choose(language);
      assert.equal(
        'tier' in choice && choice.tier,
        'bubblewrap',
        `auto picks bubblewrap for ${language}`,
      );
    }
  } finally {
    tiers.close();
  }
});

assert.ok(PROBES.length >= 30, `the battery has ${PROBES.length} probes`);

for (const tier of TIERS) {
  describe(`containment in ${tier}`, () => {
    let battery: Battery;
    before(async () => {
      battery = await startBattery(tier);
    });
    after(async () => {
      await battery?.close();
    });
    for (const probe of PROBES) {
      test(`${tier}: ${probe.language}: ${probe.name}`, { timeout: 60_000 }, () =>
        battery.run(probe),
      );
    }
  });
}

// The control: with no sandbox the same checks must catch the same probes escaping, or
// the battery above would prove nothing. Probes harmful to an uncontained host stay out.
describe('the battery detects escapes when nothing contains the code', () => {
  let battery: Battery;
  before(async () => {
    battery = await startBattery('none');
  });
  after(async () => {
    await battery?.close();
  });
  for (const probe of PROBES.filter((p) => !p.harmful)) {
    const held = probe.heldUnsandboxed === true;
    test(`none: ${probe.name}: ${held ? 'held' : 'caught escaping'}`, async () => {
      if (held) await battery.run(probe);
      else await assert.rejects(battery.run(probe), assert.AssertionError);
    });
  }
});
