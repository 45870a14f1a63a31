import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_CODE_ACTION } from '../../protocol/code-actions.js';
import type { WebviewToHost } from '../../protocol/webview.js';
import { acceptWebviewMessage } from '../../extension/webview-messages.js';
import { fakeWebview, localConnection, newChat, recordingLog, useHomes } from './harness.js';

// A code block's Copy, Insert and New File reach the host only as a validated codeAction,
// and the controller hands exactly that to the surface's handler (VS Code's is
// extension/code-actions.ts, exercised in test/e2e/code-actions.test.ts).

const home = useHomes('cog-ext-code-');
const { log } = recordingLog();

test('the schema takes a codeAction within its caps and refuses anything else', () => {
  const ok = { type: 'codeAction', action: 'insert', code: 'print(1)', language: 'python' };
  assert.deepEqual(acceptWebviewMessage(ok), { ok: true, message: ok });
  assert.equal(acceptWebviewMessage({ ...ok, language: undefined }).ok, true);
  const refused: [string, unknown][] = [
    ['unknown action', { ...ok, action: 'run' }],
    ['empty code', { ...ok, code: '' }],
    ['too long', { ...ok, code: 'x'.repeat(MAX_CODE_ACTION + 1) }],
    ['odd language', { ...ok, language: 'py"><script>' }],
    ['long language', { ...ok, language: 'a'.repeat(33) }],
    ['extra field', { ...ok, path: '/etc/passwd' }],
    ['command', { ...ok, command: 'workbench.action.terminal.sendSequence' }],
  ];
  for (const [what, msg] of refused) assert.equal(acceptWebviewMessage(msg).ok, false, what);
  assert.equal(
    acceptWebviewMessage({ ...ok, code: 'x'.repeat(MAX_CODE_ACTION) }).ok,
    true,
    'at the cap',
  );
});

test('ChatController hands a codeAction to the surface; its words and failures are notices', async () => {
  const conn = localConnection(home(), log);
  const got: WebviewToHost[] = [];
  let answer: () => Promise<string | undefined> = () => Promise.resolve(undefined);
  const { chat } = newChat(conn, log, 'ask', undefined, {
    codeAction: (msg) => {
      got.push(msg);
      return answer();
    },
  });
  const view = fakeWebview();
  const attached = chat.attach(view.post);
  const msg = { type: 'codeAction', action: 'copy', code: 'ls -la' } as const;
  await chat.handle(msg);
  assert.deepEqual(got, [msg]);
  assert.equal(view.messages.length, 0, 'nothing to say');

  answer = () => Promise.resolve('Insert and New File work in VS Code; Copy works here.');
  await chat.handle({ ...msg, action: 'newFile' });
  assert.deepEqual(view.messages.at(-1), {
    type: 'notice',
    level: 'info',
    message: 'Insert and New File work in VS Code; Copy works here.',
  });

  answer = () => Promise.reject(new Error('the clipboard is not available'));
  await chat.handle(msg);
  const last = view.messages.at(-1);
  assert.ok(last?.type === 'notice' && last.level === 'error', JSON.stringify(last));
  assert.match(last.message, /clipboard is not available/);

  // Without a handler (no editor behind the panel) it says so rather than drop it.
  const { chat: bare } = newChat(conn, log, 'ask');
  const bareView = fakeWebview();
  const bareAttached = bare.attach(bareView.post);
  await bare.handle(msg);
  assert.deepEqual(bareView.messages, [
    { type: 'notice', level: 'info', message: 'Code actions work in VS Code.' },
  ]);
  attached.dispose();
  bareAttached.dispose();
  chat.dispose();
  bare.dispose();
  await conn.dispose();
});
