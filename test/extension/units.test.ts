import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartDelayMs, sleep } from '../../extension/backoff.js';
import { parseServeLine, redact } from '../../extension/runtime-process.js';
import { describeSettings, runtimeEnv, type CogSettings } from '../../extension/runtime-env.js';
import { acceptWebviewMessage } from '../../extension/webview-messages.js';
import { renderWebviewHtml } from '../../protocol/webview-html.js';

const settings: CogSettings = {
  baseUrl: 'http://127.0.0.1:11434/v1',
  model: 'qwen2.5:7b',
  models: { input: '', thinker: 'big', output: '', memorizer: '' },
  pipeline: 'faithful',
  approvalPolicy: 'deny',
  serverUrl: '',
  oauthClientId: '',
};

test('restart backoff: 1 s, 2 s, 4 s … capped', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 50].map((n) => restartDelayMs(n)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
  assert.equal(restartDelayMs(-3), 1000);
  assert.equal(restartDelayMs(2, 100, 250), 250);
});

test('sleep ends early, with false, when its signal aborts', async () => {
  const abort = new AbortController();
  const slept = sleep(60_000, abort.signal);
  abort.abort();
  assert.equal(await slept, false);
  assert.equal(await sleep(1), true);
});

test('parseServeLine: the JSON line only', () => {
  assert.deepEqual(parseServeLine('{"url":"http://127.0.0.1:1234/mcp","tokenFile":"/h/token"}'), {
    url: 'http://127.0.0.1:1234/mcp',
    tokenFile: '/h/token',
  });
  assert.equal(parseServeLine('cog serve: MCP on http://…'), undefined);
  assert.equal(parseServeLine('{"url":"file:///etc/passwd","tokenFile":"/t"}'), undefined);
  assert.equal(parseServeLine('{"url":"http://x/mcp","tokenFile":null}'), undefined);
  assert.equal(parseServeLine('{broken'), undefined);
});

test('runtimeEnv: settings and the key in, inherited Cog configuration out', () => {
  const env = runtimeEnv(
    {
      PATH: '/bin',
      COG_LLM_BASE_URL: 'http://elsewhere',
      COG_HOME: '/somewhere/else',
      OPENAI_API_KEY: 'sk-shell',
      OPENROUTER_API_KEY: 'or-shell',
    },
    settings,
    '/storage/cog',
    'sk-secret',
  );
  assert.equal(env.PATH, '/bin');
  assert.equal(env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(env.COG_HOME, '/storage/cog');
  assert.equal(env.COG_LLM_BASE_URL, settings.baseUrl);
  assert.equal(env.COG_LLM_API_KEY, 'sk-secret');
  assert.equal(env.COG_MODEL, 'qwen2.5:7b');
  assert.equal(env.COG_MODEL_THINKER, 'big');
  assert.equal(env.COG_MODEL_INPUT, undefined, 'an empty per-node setting falls back to cog.model');
  assert.equal(env.COG_PIPELINE, 'faithful');
  assert.equal(env.COG_APPROVAL, 'deny');
  assert.equal(env.OPENAI_API_KEY, undefined);
  assert.equal(env.OPENROUTER_API_KEY, undefined);

  const offline = runtimeEnv(
    { COG_MODEL: 'x' },
    { ...settings, baseUrl: '', model: '' },
    '/h',
    undefined,
  );
  assert.equal(offline.COG_LLM_BASE_URL, undefined);
  assert.equal(offline.COG_MODEL, undefined);
  assert.equal(offline.COG_LLM_API_KEY, undefined);
  assert.equal(offline.COG_SURFACE, 'vscode', 'the runtime words its hints for VS Code');
});

test('describeSettings never contains the key', () => {
  const line = describeSettings(settings, true);
  assert.match(line, /api key set/);
  assert.match(line, /thinker=big/);
  assert.doesNotMatch(line, /sk-/);
});

test('webview messages: the protocol passes, anything else is refused by shape', () => {
  assert.deepEqual(acceptWebviewMessage({ type: 'send', text: 'hi' }), {
    ok: true,
    message: { type: 'send', text: 'hi' },
  });
  assert.equal(acceptWebviewMessage({ type: 'ready', session: 's-1', lastSeq: 4 }).ok, true);
  const approve = {
    type: 'approve',
    process: 'p-1',
    decision: 'approve',
    code: 'print(1)',
    isolation: 'bubblewrap',
  };
  assert.deepEqual(acceptWebviewMessage(approve), { ok: true, message: approve });
  const refused: unknown[] = [
    null,
    'send',
    42,
    [],
    {},
    { type: 'runCommand', command: 'workbench.action.terminal.new' },
    { type: 'send', text: 'hi', command: 'workbench.action.quit' },
    { type: 'send', text: '   ' },
    { type: 'send', text: 'x'.repeat(32_001) },
    { type: 'ready', lastSeq: -1 },
    { type: 'ready', session: '../../etc' },
    { type: 'approve', process: 'p-1', decision: 'maybe', code: 'x', isolation: 'wasm' },
    // An approval says what the card showed; one that does not is refused.
    { type: 'approve', process: 'p-1', decision: 'approve' },
    { type: 'approve', process: 'p-1', decision: 'approve', code: 'x' },
    { type: 'approve', process: 'p-1', decision: 'approve', code: 'x', isolation: '' },
    { type: 'approve', process: 'p-1', decision: 'approve', code: 'x', isolation: 'wasm', x: 1 },
    { type: 'switchSession', session: 'a b' },
    { type: 'action', action: '', data: {} },
    { type: 'action', action: 'more', data: 'not an object' },
    { type: '__proto__' },
  ];
  for (const raw of refused) {
    const r = acceptWebviewMessage(raw);
    assert.equal(r.ok, false, JSON.stringify(raw)?.slice(0, 80));
    if (!r.ok) assert.doesNotMatch(r.reason, /workbench|xxxx/, 'the reason leaks no content');
  }
});

test('redact: bearer tokens and known secrets never reach the log', () => {
  const token = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdE';
  assert.equal(
    redact(`      "Authorization": "Bearer ${token}"`),
    '      "Authorization": "Bearer <redacted>"',
  );
  assert.equal(
    redact(`token ${token} and key sk-live-123456`, [token, 'sk-live-123456']),
    'token <redacted> and key <redacted>',
  );
  assert.equal(
    redact('cog serve: MCP on http://127.0.0.1:1/mcp'),
    'cog serve: MCP on http://127.0.0.1:1/mcp',
  );
});

test("VS Code's real cspSource, quoted 'self' included, renders (regression: the view was blank)", () => {
  const cspSource = "'self' https://*.vscode-cdn.net";
  assert.throws(() =>
    renderWebviewHtml({
      cspSource: "'self'; script-src *",
      nonce: 'abcdefghijklmnopqrstuvwx',
      scriptUri: 'x',
      styleUri: 'y',
    }),
  );
  const html = renderWebviewHtml({
    cspSource,
    nonce: 'abcdefghijklmnopqrstuvwx',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/x/main.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/x/main.css',
  });
  assert.match(html, /style-src &#39;self&#39; https:\/\/\*\.vscode-cdn\.net/);
  assert.match(html, /script-src &#39;nonce-abcdefghijklmnopqrstuvwx&#39;/);
});
