import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeWebview, localConnection, newChat, recordingLog, useHomes } from './harness.js';

// The host half of the first-run offer, against a real `cog serve` child: `ready` brings
// the panel the offer's state, the banner's intents reach the hooks, and a dismissal is
// answered with the offer withdrawn.

const home = useHomes('cog-ext-setup-');
const { log } = recordingLog();

test('ChatController: the Choose a Model offer follows the setup hooks', async () => {
  const conn = localConnection(home(), log);
  let offered = true;
  const calls: string[] = [];
  const { chat } = newChat(conn, log, 'auto', undefined, {
    setup: {
      offered: () => offered,
      choose: () => void calls.push('choose'),
      dismiss: async () => {
        calls.push('dismiss');
        offered = false;
      },
    },
  });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const setups = () => view.messages.filter((m) => m.type === 'setup');
  assert.deepEqual(setups(), [{ type: 'setup', chooseModel: true }]);
  assert.ok(
    view.messages.some((m) => m.type === 'snapshot'),
    'the snapshot still comes',
  );

  await chat.handle({ type: 'chooseModel' });
  await chat.handle({ type: 'dismissChooseModel' });
  assert.deepEqual(calls, ['choose', 'dismiss']);
  assert.deepEqual(setups().at(-1), { type: 'setup', chooseModel: false });

  // Without hooks (a server's own window, the tests' default) nothing is ever offered.
  const plain = newChat(conn, log, 'auto').chat;
  const other = fakeWebview();
  plain.attach(other.post);
  await plain.handle({ type: 'ready' });
  await plain.handle({ type: 'chooseModel' });
  assert.deepEqual(
    other.messages.filter((m) => m.type === 'setup'),
    [{ type: 'setup', chooseModel: false }],
  );
  plain.dispose();
  chat.dispose();
  await conn.dispose();
});
