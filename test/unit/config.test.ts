import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../server/config.js';
import { tempHome } from '../helpers/runtime.js';

const home = tempHome('cog-config-');
after(() => home.cleanup());
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  COG_HOME: home.home,
  ...extra,
});

test('nothing configured: the offline engine, fast pipeline, approval ask', () => {
  const c = loadConfig(env());
  assert.equal(c.endpoint, undefined);
  assert.equal(c.models.thinker, 'offline');
  assert.equal(c.pipeline, 'fast');
  assert.equal(c.approval, 'ask');
});

test('COG_LLM_BASE_URL with per-node overrides', () => {
  const c = loadConfig(
    env({
      COG_LLM_BASE_URL: 'http://127.0.0.1:11434/v1',
      COG_MODEL: 'qwen',
      COG_MODEL_THINKER: 'big',
    }),
  );
  assert.deepEqual(c.endpoint, {
    baseUrl: 'http://127.0.0.1:11434/v1',
    apiKey: 'not-needed',
    source: 'COG_LLM_BASE_URL',
  });
  assert.deepEqual(c.models, { input: 'qwen', thinker: 'big', output: 'qwen', memorizer: 'qwen' });
});

test('a base URL without a model says what to set', () => {
  assert.throws(() => loadConfig(env({ COG_LLM_BASE_URL: 'http://127.0.0.1:1/v1' })), {
    code: 'config_invalid',
    message: /set COG_MODEL/,
  });
});

test('OPENROUTER_API_KEY or OPENAI_API_KEY alone pick that service with a default model', () => {
  const or = loadConfig(env({ OPENROUTER_API_KEY: 'k1' }));
  assert.equal(or.endpoint?.baseUrl, 'https://openrouter.ai/api/v1');
  assert.ok(or.models.output.length > 0);
  const oa = loadConfig(env({ OPENAI_API_KEY: 'k2' }));
  assert.equal(oa.endpoint?.baseUrl, 'https://api.openai.com/v1');
  assert.equal(loadConfig(env({ OPENAI_API_KEY: 'k2', COG_OFFLINE: '1' })).endpoint, undefined);
});

test('bad values are refused with the allowed ones named', () => {
  assert.throws(
    () => loadConfig(env({ COG_APPROVAL: 'sometimes' })),
    /COG_APPROVAL=sometimes is not valid: use one of ask, auto, deny/,
  );
});

test('config.json is read, validated, and the environment wins', () => {
  const file = join(home.home, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      baseUrl: 'http://127.0.0.1:8080/v1',
      model: 'm',
      pipeline: 'faithful',
      budgets: { thinker: 9000 },
    }),
  );
  const c = loadConfig(env({ COG_PIPELINE: 'fast' }));
  assert.equal(c.endpoint?.source, 'config.json');
  assert.equal(c.pipeline, 'fast');
  assert.equal(c.budgets.thinker, 9000);
  writeFileSync(file, JSON.stringify({ pipeline: 'turbo' }));
  assert.throws(() => loadConfig(env()), /config\.json: pipeline/);
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig(env()), /not valid JSON/);
  writeFileSync(file, '{}');
});

test('each principal’s share: defaults, config.json overrides, bad values refused', () => {
  const file = join(home.home, 'config.json');
  writeFileSync(file, '{}');
  assert.deepEqual(loadConfig(env()).perPrincipal, {
    turns: 8,
    codeRuns: 2,
    requestsPerMinute: 600,
  });
  writeFileSync(file, JSON.stringify({ perPrincipal: { codeRuns: 4, requestsPerMinute: 60 } }));
  assert.deepEqual(loadConfig(env()).perPrincipal, {
    turns: 8,
    codeRuns: 4,
    requestsPerMinute: 60,
  });
  writeFileSync(file, JSON.stringify({ perPrincipal: { turns: 0 } }));
  assert.throws(() => loadConfig(env()), /config\.json: perPrincipal\.turns/);
  writeFileSync(file, JSON.stringify({ perPrincipal: { sessions: 3 } }));
  assert.throws(() => loadConfig(env()), /config\.json: perPrincipal/);
  // The environment wins over config.json, key by key.
  writeFileSync(file, JSON.stringify({ perPrincipal: { codeRuns: 4, requestsPerMinute: 60 } }));
  assert.deepEqual(
    loadConfig(env({ COG_PRINCIPAL_TURNS: '3', COG_PRINCIPAL_REQUESTS_PER_MINUTE: '120' }))
      .perPrincipal,
    { turns: 3, codeRuns: 4, requestsPerMinute: 120 },
  );
  assert.equal(loadConfig(env({ COG_PRINCIPAL_CODE_RUNS: '' })).perPrincipal.codeRuns, 4);
  for (const bad of ['0', '-1', '2.5', 'many', '1e3', '10001']) {
    assert.throws(
      () => loadConfig(env({ COG_PRINCIPAL_TURNS: bad })),
      new RegExp(
        `COG_PRINCIPAL_TURNS=${bad.replace('.', '\\.')} is not valid: use a whole number from 1 to 10000`,
      ),
    );
  }
  writeFileSync(file, '{}');
});
