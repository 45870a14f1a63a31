import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  listModels,
  normaliseBaseUrl,
  OPENAI,
  OPENROUTER,
  probeLocalServers,
  serviceForKey,
  type DiscoveryErrorCode,
} from '../../extension/model-discovery.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';

// Discovery over real HTTP: the OpenAI-wire fixture (with a key it requires), a port nobody
// listens on, and a server that answers with a web page instead of a model list.

const KEY = 'sk-fixture-key-0123456789';
/** A user-facing message names a command or a setting, never an environment variable. */
const ENV_NAME = /\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/;

let fixture: FixtureServer;
let htmlServer: Server;
let htmlUrl: string;
let closedUrl: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

before(async () => {
  fixture = await startFixtureServer({
    models: ['zeta-chat', 'alpha-7b', 'fixture-model'],
    apiKey: KEY,
  });
  htmlServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>Router login</title>');
  });
  htmlUrl = await listen(htmlServer);
  // A port that was just free: nothing listens there any more.
  const gone = createServer();
  closedUrl = await listen(gone);
  await new Promise<void>((resolve) => gone.close(() => resolve()));
});

after(async () => {
  await fixture.close();
  await new Promise<void>((resolve) => htmlServer.close(() => resolve()));
});

/** Runs `work`, which must fail with a DiscoveryError of `code`; returns its message. */
async function failsWith(code: DiscoveryErrorCode, work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (err) {
    const e = err as { name?: string; code?: string; message: string };
    assert.equal(e.name, 'DiscoveryError', e.message);
    assert.equal(e.code, code, e.message);
    assert.doesNotMatch(e.message, ENV_NAME);
    return e.message;
  }
  assert.fail(`expected a ${code} DiscoveryError`);
}

describe('a key alone selects its service', () => {
  it('sk-or- is OpenRouter, any other sk- is OpenAI, each with its default model', () => {
    assert.equal(serviceForKey('sk-or-v1-0123abcd'), OPENROUTER);
    assert.equal(serviceForKey('  sk-or-v1-0123abcd\n'), OPENROUTER);
    assert.equal(serviceForKey('sk-proj-0123abcd'), OPENAI);
    assert.equal(serviceForKey('sk-0123abcd'), OPENAI);
    assert.deepEqual(
      [OPENROUTER.baseUrl, OPENROUTER.defaultModel, OPENAI.baseUrl, OPENAI.defaultModel],
      [
        'https://openrouter.ai/api/v1',
        'google/gemini-2.5-flash',
        'https://api.openai.com/v1',
        'gpt-4o-mini',
      ],
    );
  });

  it('a key of no known shape selects nothing', () => {
    for (const key of ['', 'sk-', 'sk-or-', 'gsk_0123', 'cog-trust-test', 'sk- spaced']) {
      assert.equal(serviceForKey(key), undefined, key);
    }
  });
});

describe('base URLs the user types', () => {
  it('are tidied: no trailing slash, whitespace trimmed', () => {
    assert.equal(normaliseBaseUrl(' http://127.0.0.1:11434/v1/ '), 'http://127.0.0.1:11434/v1');
    assert.equal(normaliseBaseUrl('https://openrouter.ai/api/v1'), 'https://openrouter.ai/api/v1');
  });

  it('that are not http(s) base URLs are refused with what to type', async () => {
    for (const bad of ['localhost:11434', 'ftp://host/v1', 'http://h/v1?x=1', 'http://u:p@h/v1']) {
      const message = await failsWith('bad-url', async () => normaliseBaseUrl(bad));
      assert.match(message, /https?:\/\//, bad);
    }
  });
});

describe('listModels against real servers', () => {
  it("lists the fixture's models, sorted, sending the key as a bearer token", async () => {
    fixture.reset();
    assert.deepEqual(await listModels(fixture.url, { apiKey: KEY }), [
      'alpha-7b',
      'fixture-model',
      'zeta-chat',
    ]);
    assert.deepEqual(
      fixture.requests.map((r) => [r.method, r.path, r.headers.authorization]),
      [['GET', '/v1/models', `Bearer ${KEY}`]],
    );
  });

  it('a missing or wrong key is a 401 that says so', async () => {
    const none = await failsWith('unauthorized', () => listModels(fixture.url));
    assert.match(none, /HTTP 401/);
    assert.match(none, /needs an API key/);
    const wrong = await failsWith('unauthorized', () =>
      listModels(fixture.url, { apiKey: 'sk-wrong' }),
    );
    assert.match(wrong, /refused the key/);
    assert.match(wrong, /Cog: Set API Key/);
  });

  it('nothing listening is unreachable, named with the URL', async () => {
    const message = await failsWith('unreachable', () => listModels(closedUrl));
    assert.match(message, /Cannot reach http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/);
  });

  it('a web page instead of a model list is not OpenAI-compatible', async () => {
    const message = await failsWith('not-openai', () => listModels(htmlUrl));
    assert.match(message, /did not answer with a model list/);
  });

  it('a base URL missing its /v1 gets the 404 explained', async () => {
    const root = fixture.url.replace(/\/v1$/, '');
    const message = await failsWith('not-openai', () => listModels(root, { apiKey: KEY }));
    assert.match(message, /HTTP 404/);
    assert.match(message, /ends in \/v1/);
  });

  it('the local servers are asked at once: the running one lists, the others say why', async () => {
    const local = await startFixtureServer({ models: ['llama3.2:3b', 'qwen2.5:7b'] });
    try {
      const probed = await probeLocalServers([
        { label: 'Running', baseUrl: local.url },
        { label: 'Web page', baseUrl: htmlUrl },
        { label: 'Stopped', baseUrl: closedUrl },
      ]);
      assert.deepEqual(
        probed.map((p) => [p.label, 'models' in p ? p.models : p.error.code]),
        [
          ['Running', ['llama3.2:3b', 'qwen2.5:7b']],
          ['Web page', 'not-openai'],
          ['Stopped', 'unreachable'],
        ],
      );
    } finally {
      await local.close();
    }
  });
});
