import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Attachments } from '../../extension/attachments.js';
import { ShareConsent } from '../../extension/share-consent.js';
import { FIXTURE_MODEL, reply, startFixtureServer } from '../fixtures/openai-server.js';
import { fakeWebview, localConnection, newChat, recordingLog, useHomes } from './harness.js';

// What the host holds attached for the next message (extension/attachments.ts), read from
// real files, and the ChatController sending it to a real `cog serve` whose model is the
// OpenAI-wire fixture.

const dir = mkdtempSync(join(tmpdir(), 'cog-attach-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const read = async (uri: string) => new Uint8Array(await readFile(new URL(uri)));
const file = (name: string, body: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, body);
  return pathToFileURL(path).href;
};

test('Attachments: a selection is taken when added, a file when sent; ids name them; a file is held once', async () => {
  const held = new Attachments(read);
  let changes = 0;
  held.onDidChange(() => changes++);
  const uri = file('a.ts', 'export const a = 1;\n');
  const sel = held.add({
    kind: 'selection',
    path: 'src/lib/b.ts',
    startLine: 3,
    endLine: 5,
    text: 'const b = 2;',
  });
  const f = held.add({ kind: 'file', uri, path: 'src/a.ts' });
  assert.equal(held.add({ kind: 'file', uri, path: 'src/a.ts' }), f, 'the same file once');
  assert.equal(changes, 2);
  assert.deepEqual(held.views(), [
    { id: sel, label: 'b.ts:3-5', title: 'src/lib/b.ts:3-5', kind: 'selection' },
    { id: f, label: 'a.ts', title: 'src/a.ts', kind: 'file' },
  ]);
  // Edited after it was attached: the send carries the file as it is now.
  writeFileSync(new URL(uri), 'export const a = 42;\n');
  const out = await held.resolve();
  assert.deepEqual(out.items, [
    { label: 'src/lib/b.ts:3-5', text: 'const b = 2;', kind: 'selection' },
    { label: 'src/a.ts', text: 'export const a = 42;\n', kind: 'file' },
  ]);
  // Added while the message was on its way: it stays for the next one.
  const late = held.add({ kind: 'selection', path: 'c.ts', startLine: 1, endLine: 1, text: 'c' });
  const taken = held.take(out.ids);
  assert.deepEqual(
    held.views().map((v) => v.id),
    [late],
  );
  // A failed send puts them back, before what came since.
  held.putBack(taken);
  assert.deepEqual(
    held.views().map((v) => v.id),
    [sel, f, late],
  );
  held.take(out.ids);
  held.remove(late);
  assert.equal(held.size, 0);
  held.remove('a999');
  assert.equal(changes, 7, 'a remove of nothing changes nothing');
});

test('Attachments: binary, too large, unreadable or too many are refused with what to do', async () => {
  const cases: [string, string, RegExp][] = [
    [
      'nul bytes',
      file('img.png', new Uint8Array([0x89, 0x50, 0, 0, 1, 2])),
      /img\.png is a binary file; Cog attaches text only/,
    ],
    [
      'not UTF-8',
      file('latin.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20])),
      /latin\.txt is a binary file/,
    ],
    [
      'too large',
      file('big.txt', 'x'.repeat(200_001)),
      /big\.txt is 196 KB; Cog attaches files up to 200 KB/,
    ],
    ['gone', pathToFileURL(join(dir, 'missing.txt')).href, /missing\.txt cannot be read/],
  ];
  for (const [what, uri, message] of cases) {
    const held = new Attachments(read);
    const name = new URL(uri).pathname.split('/').pop()!;
    const id = held.add({ kind: 'file', uri, path: name });
    await assert.rejects(held.resolve(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'attachment_refused', what);
      assert.match(err.message, message, what);
      return true;
    });
    assert.deepEqual(
      held.views().map((v) => v.id),
      [id],
      `${what}: the chip stays`,
    );
  }
  const held = new Attachments(read);
  assert.throws(
    () =>
      held.add({
        kind: 'selection',
        path: 'x',
        startLine: 1,
        endLine: 1,
        text: 'y'.repeat(200_001),
      }),
    /Select less/,
  );
  for (let i = 0; i < 20; i++)
    held.add({ kind: 'selection', path: 'x', startLine: i, endLine: i, text: 'y' });
  assert.throws(
    () => held.add({ kind: 'selection', path: 'x', startLine: 1, endLine: 1, text: 'z' }),
    /20 items are attached already/,
  );
});

test('ShareConsent: asked once per session when allowed, again after a no, never for no files', async () => {
  const asked: string[][] = [];
  let answer = false;
  const consent = new ShareConsent(async (paths) => {
    asked.push([...paths]);
    return answer;
  });
  assert.equal(await consent.allows('s1', []), false);
  assert.equal(asked.length, 0, 'no files, no question');
  assert.equal(await consent.allows('s1', ['a.ts']), false);
  answer = true;
  assert.equal(await consent.allows('s1', ['a.ts', 'b.ts']), true, 'a no is not remembered');
  assert.equal(await consent.allows('s1', ['c.ts']), true);
  assert.deepEqual(asked, [['a.ts'], ['a.ts', 'b.ts']], 'remembered for s1');
  answer = false;
  assert.equal(await consent.allows('s2', ['a.ts']), false, 'another session asks again');
  consent.forget('s1');
  assert.equal(await consent.allows('s1', ['a.ts']), false);
  assert.equal(asked.length, 4);
});

const home = useHomes('cog-ext-attach-');
const { log } = recordingLog();

test('ChatController: chips reach the webview, a send carries them to the model, a binary file refuses the send and keeps its chip', async () => {
  const fixture = await startFixtureServer();
  const cogHome = home();
  const conn = localConnection(cogHome, log, {
    COG_LLM_BASE_URL: fixture.url,
    COG_MODEL: FIXTURE_MODEL,
  });
  const attachments = new Attachments(read);
  let picks = 0;
  const asked: { session: string; paths: string[] }[] = [];
  const consent = new ShareConsent(async () => true);
  const { chat, memory } = newChat(conn, log, 'auto', undefined, {
    context: {
      attachments,
      pick: async () => void picks++,
      share: (session, paths) => {
        asked.push({ session, paths: [...paths] });
        return consent.allows(session, paths);
      },
    },
  });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  try {
    await chat.handle({ type: 'ready' });
    const chipsOf = () => {
      const last = view.messages.filter((m) => m.type === 'attachments').at(-1);
      return last?.type === 'attachments' ? last.items.map((i) => i.label) : undefined;
    };
    assert.deepEqual(chipsOf(), [], 'the snapshot is followed by the (empty) chips');

    attachments.add({
      kind: 'selection',
      path: 'src/sum.py',
      startLine: 10,
      endLine: 12,
      text: 'def total(xs):\n    return sum(xs)  # SELECTED-4411',
    });
    const readme = file('README.md', '# Project FILE-TEXT-2299\n');
    attachments.add({ kind: 'file', uri: readme, path: 'README.md' });
    assert.deepEqual(chipsOf(), ['sum.py:10-12', 'README.md']);

    await chat.handle({ type: 'attachPick', trigger: '@' });
    assert.equal(picks, 1, 'the @ pick is the host’s');

    fixture.script('thinker', [reply.text('It sums a list.')]);
    await chat.handle({ type: 'send', text: 'explain this' });
    const req = fixture.requests.find((r) => r.node === 'thinker');
    const prompt = JSON.stringify(req?.body.messages ?? []);
    assert.ok(prompt.includes('SELECTED-4411'), 'the selection reached the model');
    assert.ok(prompt.includes('FILE-TEXT-2299'), 'the file reached the model');
    assert.deepEqual(chipsOf(), [], 'what went is forgotten');
    // Consent was asked for the file (not the selection), for the shown session; the
    // runtime keeps a copy its code runs read at shared/README.md.
    assert.deepEqual(asked, [{ session: memory.session, paths: ['README.md'] }]);
    const copies = join(cogHome, 'shared');
    const [key] = readdirSync(copies);
    assert.equal(
      readFileSync(join(copies, key, 'README.md'), 'utf8'),
      '# Project FILE-TEXT-2299\n',
    );
    assert.match(
      prompt,
      /read-only, at these paths relative to the run's working directory: shared\/README\.md/,
    );
    assert.equal(view.messages.filter((m) => m.type === 'notice' && m.level === 'error').length, 0);
    await chat.settled();

    // A binary file: the send is refused in words, nothing reaches the model, the chip stays.
    const png = file('logo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]));
    attachments.add({ kind: 'file', uri: png, path: 'media/logo.png' });
    const thinkerCalls = () => fixture.requests.filter((r) => r.node === 'thinker').length;
    const calls = thinkerCalls();
    await chat.handle({ type: 'send', text: 'and this?' });
    const notice = view.messages.filter((m) => m.type === 'notice').at(-1);
    assert.ok(notice?.type === 'notice' && notice.level === 'error');
    assert.match(notice.message, /media\/logo\.png is a binary file/);
    assert.equal(thinkerCalls(), calls, 'no turn reached the model');
    assert.deepEqual(chipsOf(), ['logo.png']);
    await chat.handle({ type: 'attachRemove', id: attachments.views()[0].id });
    assert.deepEqual(chipsOf(), []);
  } finally {
    chat.dispose();
    await conn.dispose();
    await fixture.close();
  }
});
