import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { describeIsolation } from '../../protocol/events.js';
import { isolationText } from '../../protocol/isolation.js';
import { runtimeEnv, underWorkspaceTrust, type CogSettings } from '../../extension/runtime-env.js';
import {
  DIALOG_CODE_CHARS,
  approvalDialog,
  codeSha256,
  matchQuestion,
  type ShownRun,
} from '../../extension/run-approvals.js';
import {
  USER_ONLY_SETTINGS,
  settingsFrom,
  type InspectedSetting,
  type SettingsSource,
} from '../../extension/user-settings.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The trust boundary's pure parts: which settings a workspace may not set, what Restricted
// Mode starts, what an approval names. The same rules run in VS Code in suite.ts and
// test/e2e/trust.test.ts.

/** A configuration with values at each level, as `WorkspaceConfiguration.inspect` reports. */
function source(values: Record<string, InspectedSetting<unknown>>): SettingsSource {
  return {
    get: <T>(key: string) => {
      const v = values[key];
      return (v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue ?? v?.defaultValue) as
        T | undefined;
    },
    inspect: <T>(key: string) => values[key] as InspectedSetting<T> | undefined,
  };
}

test('settings: where the key goes and whether code runs never come from a workspace', () => {
  const ignored: string[] = [];
  const s = settingsFrom(
    source({
      baseUrl: { defaultValue: '', workspaceValue: 'http://attacker.example/v1' },
      serverUrl: { defaultValue: '', workspaceFolderValue: 'http://attacker.example/mcp' },
      oauthClientId: { defaultValue: '', globalValue: 'mine', workspaceValue: 'attackers-app' },
      model: { defaultValue: '', globalValue: 'mine', workspaceValue: 'theirs' },
      'models.thinker': { defaultValue: '', workspaceLanguageValue: 'theirs' },
      approvalPolicy: { defaultValue: 'ask', workspaceValue: 'auto' },
      // Not a user-only setting: a workspace may choose its pipeline.
      pipeline: { defaultValue: 'fast', workspaceValue: 'faithful' },
    }),
    (key) => ignored.push(key),
  );
  assert.equal(s.baseUrl, '');
  assert.equal(s.serverUrl, '');
  assert.equal(s.oauthClientId, 'mine', 'a workspace does not choose whom you sign in with');
  assert.equal(s.model, 'mine', "the user's own value stands");
  assert.equal(s.models.thinker, '');
  assert.equal(s.approvalPolicy, 'ask');
  assert.equal(s.pipeline, 'faithful');
  assert.deepEqual(ignored.sort(), [
    'approvalPolicy',
    'baseUrl',
    'model',
    'models.thinker',
    'oauthClientId',
    'serverUrl',
  ]);

  const user = settingsFrom(
    source({
      baseUrl: { defaultValue: '', globalValue: ' http://127.0.0.1:11434/v1 ' },
      approvalPolicy: { defaultValue: 'ask', globalValue: 'auto' },
    }),
  );
  assert.equal(user.baseUrl, 'http://127.0.0.1:11434/v1');
  assert.equal(user.approvalPolicy, 'auto');
  assert.equal(
    settingsFrom(source({ approvalPolicy: { globalValue: 'yolo' } })).approvalPolicy,
    'ask',
  );
});

test('package.json: the user-only settings are application-scoped and restricted in untrusted workspaces', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    capabilities: {
      untrustedWorkspaces: { supported: unknown; restrictedConfigurations: string[] };
    };
    contributes: { configuration: { properties: Record<string, { scope?: string }> } };
  };
  const props = pkg.contributes.configuration.properties;
  const keys = USER_ONLY_SETTINGS.map((k) => `cog.${k}`);
  for (const key of keys) {
    assert.ok(props[key], `${key} is contributed`);
    assert.equal(props[key].scope, 'application', `${key} is application-scoped`);
  }
  const { untrustedWorkspaces } = pkg.capabilities;
  assert.equal(untrustedWorkspaces.supported, 'limited');
  assert.deepEqual([...untrustedWorkspaces.restrictedConfigurations].sort(), [...keys].sort());
});

test('Restricted Mode: the runtime starts with code runs off, whatever the user chose', () => {
  const settings: CogSettings = {
    baseUrl: '',
    model: '',
    models: { input: '', thinker: '', output: '', memorizer: '' },
    pipeline: 'fast',
    approvalPolicy: 'auto',
    serverUrl: '',
    oauthClientId: '',
  };
  assert.equal(underWorkspaceTrust(settings, true).approvalPolicy, 'auto');
  const restricted = underWorkspaceTrust(settings, false);
  assert.equal(restricted.approvalPolicy, 'deny');
  assert.equal(runtimeEnv({}, restricted, '/h', undefined).COG_APPROVAL, 'deny');
  assert.equal(settings.approvalPolicy, 'auto', 'the user’s settings are not changed');
});

test('codeSha256: hex SHA-256 of the UTF-8 code', () => {
  assert.equal(codeSha256(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(
    codeSha256('abc'),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  // UTF-8, not UTF-16 code units.
  assert.equal(codeSha256('é'), '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
  // The same as the runtime's (node:crypto) at every padding boundary, for astral
  // characters and for lone surrogates (both write U+FFFD).
  const cases = ['\u{1F600} print(1)\n', '\ud800', 'a\udc00b', '\u07ff\u0800\uffff\u{10ffff}'];
  for (let n = 50; n <= 130; n++) cases.push('x'.repeat(n));
  cases.push('long line\n'.repeat(20_000));
  for (const code of cases) {
    const runtime = createHash('sha256').update(code, 'utf8').digest('hex');
    assert.equal(codeSha256(code), runtime, JSON.stringify(code.slice(0, 20)));
  }
});

test('matchQuestion: finds the run an approval question is about, by its code', () => {
  const run = (id: string, code: string): ShownRun => ({
    id,
    session: 's',
    language: 'javascript',
    code,
    isolation: 'wasm',
  });
  const runs = [run('p-1', 'console.log(1)'), run('p-2', 'console.log(17*23)')];
  // The message server/mcp/live/approvals.ts sends: language, tier, then the code.
  const ask = (code: string) =>
    `Cog wants to run javascript code, ${describeIsolation('wasm')}:\n\n${code}`;
  assert.equal(matchQuestion(ask('console.log(17*23)'), runs)?.id, 'p-2');
  assert.equal(matchQuestion(ask('console.log(2)'), runs), undefined, 'no run has that code');
  assert.equal(matchQuestion('Please type your password', runs), undefined);
  // Long code comes as its head and a mark; the head must be a strict prefix of the run's.
  const long = run('p-3', `${'x'.repeat(5000)}tail`);
  assert.equal(matchQuestion(ask(`${'x'.repeat(4000)}\n… (truncated)`), [long])?.id, 'p-3');
  assert.equal(matchQuestion(ask('\n… (truncated)'), [long]), undefined);
});

test('approval dialog: the tier in words, a warning when not sandboxed, all the code or none', () => {
  const run: ShownRun = {
    id: 'p-1',
    session: 's',
    language: 'python',
    code: 'print(17*23)',
    isolation: 'bubblewrap',
  };
  const boxed = approvalDialog(run);
  assert.equal(boxed.complete, true);
  assert.match(boxed.message, /python/);
  assert.ok(boxed.detail.includes(describeIsolation('bubblewrap')));
  assert.ok(boxed.detail.includes('print(17*23)'));
  assert.doesNotMatch(boxed.detail, /Warning/);
  assert.doesNotMatch(`${boxed.message}${boxed.detail}`, /p-1\b/, 'no internal id');

  const bare = approvalDialog({ ...run, isolation: 'none' });
  assert.match(bare.detail, /^Warning: NOT sandboxed: .*full rights/);
  assert.match(bare.message, /NOT sandboxed/);

  const odd = approvalDialog({ ...run, isolation: 'process-group' });
  assert.match(odd.detail, /^Warning: not known to be sandboxed/);
  assert.equal(isolationText('namespaces'), describeIsolation('namespaces'));
  assert.match(isolationText('wasm'), /^sandboxed \(WebAssembly/);

  const long = approvalDialog({ ...run, code: 'x'.repeat(DIALOG_CODE_CHARS + 1) });
  assert.equal(long.complete, false, 'a dialog that cannot show all the code cannot run it');
  assert.match(long.detail, /review it on its card/);
  const tall = approvalDialog({ ...run, code: 'x\n'.repeat(100) });
  assert.equal(tall.complete, false);
});
