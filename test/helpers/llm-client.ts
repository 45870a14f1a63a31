import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';
import { createOpenAiClient, type OpenAiClientOptions } from '../../server/llm/openai-client.js';
import type { ChatRequest, LlmError, LlmErrorCode } from '../../server/llm/types.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';

/** Shared by the OpenAI client tests: a fixture server per file and request builders. */

export const API_KEY = 'sk-test-0123456789abcdef-secret';

/** Starts a fixture server for the calling test file; reset before each test. */
export function useFixtureServer(): () => FixtureServer {
  let server: FixtureServer | undefined;
  before(async () => {
    server = await startFixtureServer();
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(() => server?.reset());
  return () => {
    if (!server) throw new Error('useFixtureServer: used outside a test');
    return server;
  };
}

export function clientFor(server: FixtureServer, opts: Partial<OpenAiClientOptions> = {}) {
  return createOpenAiClient({ baseUrl: server.url, apiKey: API_KEY, retryBaseMs: 10, ...opts });
}

export function request(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    node: 'thinker',
    model: 'test-model',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello.' },
    ],
    signal: AbortSignal.timeout(10_000),
    ...overrides,
  };
}

/** A port nothing listens on: taken from the OS, then released. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Awaits a rejection and returns it as an LlmError with the expected code. */
export async function rejection(promise: Promise<unknown>, code: LlmErrorCode): Promise<LlmError> {
  try {
    await promise;
  } catch (err) {
    const e = err as LlmError;
    assert.equal(e.name, 'LlmError', `expected an LlmError, got ${String(err)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.ok(!e.message.includes(API_KEY), 'the API key leaked into the message');
    assert.ok(!e.message.includes('    at '), 'the message carries a stack');
    return e;
  }
  assert.fail(`expected a rejection with ${code}`);
}
