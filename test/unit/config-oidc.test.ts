import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runServe } from '../../server/cli/serve.js';
import { loadConfig } from '../../server/config.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

const home = tempHome('cog-config-oidc-');
after(() => home.cleanup());
const env = (extra: NodeJS.ProcessEnv) => ({ COG_HOME: home.home, COG_OFFLINE: '1', ...extra });

test('OIDC settings: none by default; COG_OIDC_* win over config.json', () => {
  assert.equal(loadConfig(env({})).oidc, undefined);
  writeFileSync(
    join(home.home, 'config.json'),
    JSON.stringify({
      oidc: { issuer: 'https://file.example', audience: 'https://cog.example/mcp' },
    }),
  );
  assert.deepEqual(loadConfig(env({})).oidc, {
    issuer: 'https://file.example',
    audience: 'https://cog.example/mcp',
  });
  const both = loadConfig(
    env({
      COG_OIDC_ISSUER: 'https://env.example',
      COG_OIDC_CLIENT_ID: 'cog',
      COG_OIDC_CLIENT_SECRET: 's3cret',
    }),
  );
  assert.deepEqual(both.oidc, {
    issuer: 'https://env.example',
    audience: 'https://cog.example/mcp',
    clientId: 'cog',
    clientSecret: 's3cret',
  });
  writeFileSync(join(home.home, 'config.json'), '{}');
});

test('OIDC settings that cannot work are config errors that say what to set', () => {
  const bad: [NodeJS.ProcessEnv, RegExp][] = [
    [{ COG_OIDC_AUDIENCE: 'https://cog.example/mcp' }, /without an issuer/],
    [{ COG_OIDC_ISSUER: 'not a url' }, /COG_OIDC_ISSUER=not a url is not a URL/],
    [{ COG_OIDC_ISSUER: 'https://idp.example', COG_OIDC_CLIENT_ID: 'cog' }, /go together/],
  ];
  for (const [extra, message] of bad) {
    assert.throws(() => loadConfig(env(extra)), { code: 'config_invalid', message });
  }
  writeFileSync(join(home.home, 'config.json'), JSON.stringify({ oidc: { audience: 'x' } }));
  assert.throws(() => loadConfig(env({})), { code: 'config_invalid' });
  writeFileSync(join(home.home, 'config.json'), '{}');
});

test('cog serve flags: --audience/--scopes need an issuer; --scopes names Cog scopes only', async () => {
  const config = testConfig(home.home);
  const base = { host: '127.0.0.1', port: 0, auth: true };
  const refused: [Parameters<typeof runServe>[1], RegExp][] = [
    [{ ...base, audience: 'https://cog.example/mcp' }, /need --issuer/],
    [{ ...base, issuer: 'https://idp.example', scopes: 'cog:read admin' }, /unknown scope admin/],
    [{ ...base, issuer: 'https://idp.example', scopes: ' ' }, /at least one/],
    [{ ...base, issuer: 'nope' }, /--issuer nope is not a URL/],
    [{ ...base, auth: false, issuer: 'https://idp.example' }, /contradict/],
  ];
  for (const [opts, message] of refused) {
    await assert.rejects(runServe(config, opts), { code: 'usage', message });
  }
});
