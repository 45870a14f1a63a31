import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptWebviewMessage } from '../../extension/webview-messages.js';
import { Events } from './events.js';
import { useWebview } from './harness.js';

const web = useWebview();

describe('first-run "Choose a Model" banner', () => {
  it('shows while the host offers it; its button asks the host to choose, Dismiss tells it to stop', async () => {
    const ev = new Events();
    const host = await web.open();
    await host.load();
    await host.push(ev.snapshot([]));
    const { page } = host;
    const banner = page.getByRole('region', { name: 'Choose a model' });
    assert.equal(await banner.isVisible(), false, 'hidden until the host offers it');

    await host.push({ type: 'setup', chooseModel: true });
    await banner.waitFor();
    assert.match(await banner.innerText(), /No model is configured/);
    assert.doesNotMatch(await banner.innerText(), /\b[A-Z]+_[A-Z_]+\b/, 'names no variable');

    let since = host.posted.length;
    await banner.getByRole('button', { name: 'Choose a Model' }).click();
    assert.deepEqual(await host.waitFor('chooseModel', since), { type: 'chooseModel' });
    assert.equal(await banner.isVisible(), true, 'still offered until a model is chosen');

    since = host.posted.length;
    await banner.getByRole('button', { name: 'Dismiss' }).click();
    await host.waitFor('dismissChooseModel', since);
    assert.equal(await banner.isVisible(), false);
    assert.deepEqual(host.posted.slice(since), [{ type: 'dismissChooseModel' }]);

    // A model chosen elsewhere: the host withdraws the offer.
    await host.push({ type: 'setup', chooseModel: true });
    await banner.waitFor();
    await host.push({ type: 'setup', chooseModel: false });
    await banner.waitFor({ state: 'hidden' });
    assert.deepEqual(host.invalid, []);
    assert.deepEqual((await host.tripwires()).csp, []);
    await page.close();
  });

  it('the host accepts the two intents exactly, and nothing riding on them', () => {
    assert.equal(acceptWebviewMessage({ type: 'chooseModel' }).ok, true);
    assert.equal(acceptWebviewMessage({ type: 'dismissChooseModel' }).ok, true);
    for (const bad of [
      { type: 'chooseModel', baseUrl: 'http://evil.example/v1' },
      { type: 'chooseModel', model: 'x' },
      { type: 'dismissChooseModel', forever: true },
    ]) {
      const accepted = acceptWebviewMessage(bad);
      assert.equal(accepted.ok, false, JSON.stringify(bad));
      assert.match(!accepted.ok ? accepted.reason : '', /unrecognized_keys/);
    }
  });
});
