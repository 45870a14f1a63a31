import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  applyChoice,
  chooseModel,
  choiceForKeyAlone,
  ModelSources,
  type EndpointChoice,
  type ModelChoice,
  type PickerDeps,
  type PickerUi,
  type PickItem,
} from '../../extension/model-picker.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';

// The Choose a Model flow with its VS Code UI replaced by a script of what the user picks
// and types (the real quick picks are driven in test/e2e/model-picker.test.ts); the servers
// it asks for models are real HTTP servers.

const KEY = 'sk-local-0123456789';

type Asked =
  | { kind: 'pick'; title: string; placeHolder: string; items: PickItem<unknown>[] }
  | {
      kind: 'input';
      title: string;
      prompt: string;
      password: boolean;
      validate?: (v: string) => string | undefined;
    };

/** A user who answers each question with the next step of `script`, recording every question. */
function scriptedUi(script: Array<(asked: Asked) => unknown>) {
  const asked: Asked[] = [];
  const errors: string[] = [];
  const next = (q: Asked) => {
    asked.push(q);
    const step = script.shift();
    assert.ok(step, `unexpected question: ${q.kind} ${q.title}`);
    return step(q);
  };
  const ui: PickerUi = {
    pick: async (title, placeHolder, items) =>
      next({ kind: 'pick', title, placeHolder, items }) as never,
    input: async (opts) =>
      next({
        kind: 'input',
        title: opts.title,
        prompt: opts.prompt,
        password: opts.password === true,
        ...(opts.validate ? { validate: opts.validate } : {}),
      }) as string | undefined,
    busy: (_title, work) => work(new AbortController().signal),
    error: (message) => void errors.push(message),
  };
  return { ui, asked, errors, left: () => script.length };
}

/** Picks the item whose label is `label`, failing if the list does not have it. */
const choose =
  (label: string) =>
  (q: Asked): unknown => {
    assert.equal(q.kind, 'pick');
    const item = q.kind === 'pick' ? q.items.find((i) => i.label === label) : undefined;
    assert.ok(item, `no "${label}" in ${q.kind === 'pick' ? q.items.map((i) => i.label) : []}`);
    return item.value;
  };
const type = (text: string) => (q: Asked) => {
  assert.equal(q.kind, 'input');
  if (q.kind === 'input') assert.equal(q.validate?.(text), undefined, `"${text}" is refused`);
  return text;
};

/** The choice as an endpoint's, failing if it is an editor model's. */
function endpointOf(choice: ModelChoice | undefined): EndpointChoice | undefined {
  assert.notEqual(choice?.kind, 'editor');
  return choice as EndpointChoice | undefined;
}

function deps(ui: PickerUi, extra: Partial<PickerDeps> = {}): PickerDeps {
  return {
    ui,
    storedKey: async () => undefined,
    keySetAsideFor: async () => undefined,
    current: () => ({ baseUrl: '', model: '' }),
    extraSources: () => [],
    ...extra,
  };
}

let open: FixtureServer;
let locked: FixtureServer;
let closedUrl: string;

before(async () => {
  open = await startFixtureServer({ models: ['fixture-model', 'other-model'] });
  locked = await startFixtureServer({ models: ['private-model'], apiKey: KEY });
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/v1`;
  await new Promise<void>((resolve) => gone.close(() => resolve()));
});
after(async () => {
  await open.close();
  await locked.close();
});

describe('Choose a Model', () => {
  it('offers the services, a local server, any URL and the registered sources', async () => {
    const sources = new ModelSources();
    const registered = sources.register({
      label: 'Editor models',
      detail: 'the editor’s own',
      pick: async () => ({ baseUrl: 'http://127.0.0.1:9/v1', model: 'lm-x', label: 'Editor' }),
    });
    const { ui, asked } = scriptedUi([choose('Editor models')]);
    const choice = await chooseModel(deps(ui, { extraSources: () => sources.list() }));
    assert.deepEqual(choice, { baseUrl: 'http://127.0.0.1:9/v1', model: 'lm-x', label: 'Editor' });
    const first = asked[0];
    assert.equal(first?.kind, 'pick');
    assert.deepEqual(first?.kind === 'pick' && first.items.map((i) => i.label), [
      'OpenRouter',
      'OpenAI',
      'A local server',
      'Any OpenAI-compatible URL',
      'Editor models',
    ]);
    registered.dispose();
    assert.equal(sources.list().length, 0);
  });

  it('any URL: lists the server’s models and takes the one picked', async () => {
    open.reset();
    const { ui, asked, errors } = scriptedUi([
      choose('Any OpenAI-compatible URL'),
      type(`${open.url}/`),
      choose('other-model'),
    ]);
    const choice = await chooseModel(deps(ui));
    assert.deepEqual(errors, []);
    assert.deepEqual(choice, {
      baseUrl: open.url,
      model: 'other-model',
      label: new URL(open.url).host,
    });
    const list = asked[2];
    assert.deepEqual(list?.kind === 'pick' && list.items.map((i) => i.label), [
      'fixture-model',
      'other-model',
    ]);
    assert.deepEqual(
      open.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /v1/models'],
    );
  });

  it('any URL that answers 401: asks for its key, lists with it, and hands the key back to store', async () => {
    locked.reset();
    const { ui, asked, errors } = scriptedUi([
      choose('Any OpenAI-compatible URL'),
      type(locked.url),
      type(KEY),
      choose('private-model'),
    ]);
    const choice = await chooseModel(deps(ui));
    assert.deepEqual(errors, []);
    assert.deepEqual(choice, {
      baseUrl: locked.url,
      model: 'private-model',
      label: new URL(locked.url).host,
      apiKey: KEY,
    });
    const keyBox = asked[2];
    assert.ok(keyBox?.kind === 'input' && keyBox.password, 'the key is typed into a password box');
    assert.match(keyBox.prompt, /HTTP 401/);
    assert.deepEqual(
      locked.requests.map((r) => r.headers.authorization ?? 'none'),
      ['none', `Bearer ${KEY}`],
    );
  });

  it('any URL: the stored key is used first, so a server that takes it asks nothing more', async () => {
    const { ui, left } = scriptedUi([
      choose('Any OpenAI-compatible URL'),
      type(locked.url),
      choose('private-model'),
    ]);
    const choice = await chooseModel(
      deps(ui, {
        storedKey: async () => KEY,
        current: () => ({ baseUrl: locked.url, model: 'private-model' }),
      }),
    );
    assert.equal(choice?.model, 'private-model');
    assert.equal(endpointOf(choice)?.apiKey, undefined, 'the stored key stays as it is');
    assert.equal(endpointOf(choice)?.setAsideFor, undefined);
    assert.equal(left(), 0);
  });

  it('another URL: the stored key is not sent to it but set aside, and comes back when its server is chosen again', async () => {
    open.reset();
    locked.reset();
    const away = scriptedUi([
      choose('Any OpenAI-compatible URL'),
      type(open.url),
      choose('fixture-model'),
    ]);
    const moved = await chooseModel(
      deps(away.ui, {
        storedKey: async () => KEY,
        current: () => ({ baseUrl: locked.url, model: 'private-model' }),
      }),
    );
    assert.equal(endpointOf(moved)?.baseUrl, open.url);
    assert.equal(endpointOf(moved)?.setAsideFor, new URL(locked.url).origin);
    assert.deepEqual(
      open.requests.map((r) => r.headers.authorization ?? 'none'),
      ['none'],
      'the other server never saw the key',
    );

    const back = scriptedUi([
      choose('Any OpenAI-compatible URL'),
      type(locked.url),
      choose('private-model'),
    ]);
    const asideFor: string[] = [];
    const returned = await chooseModel(
      deps(back.ui, {
        current: () => ({ baseUrl: open.url, model: 'fixture-model' }),
        keySetAsideFor: async (origin) => (asideFor.push(origin), KEY),
      }),
    );
    assert.deepEqual(asideFor, [new URL(locked.url).origin]);
    assert.equal(
      endpointOf(returned)?.apiKey,
      KEY,
      'the set-aside key becomes the stored one again',
    );
    assert.equal(back.left(), 0, 'no key was asked for');
    assert.deepEqual(
      locked.requests.map((r) => r.headers.authorization ?? 'none'),
      [`Bearer ${KEY}`],
    );
  });

  it('a key of OpenAI’s shape stored with no URL is OpenAI’s, and not sent to a typed URL', async () => {
    open.reset();
    const { ui } = scriptedUi([
      choose('Any OpenAI-compatible URL'),
      type(open.url),
      choose('fixture-model'),
    ]);
    const choice = await chooseModel(deps(ui, { storedKey: async () => 'sk-proj-openai' }));
    assert.equal(endpointOf(choice)?.setAsideFor, 'https://api.openai.com');
    assert.deepEqual(
      open.requests.map((r) => r.headers.authorization ?? 'none'),
      ['none'],
    );
  });

  it('an unreachable URL or a malformed one is said plainly, and nothing is chosen', async () => {
    const { ui, errors } = scriptedUi([choose('Any OpenAI-compatible URL'), type(closedUrl)]);
    assert.equal(await chooseModel(deps(ui)), undefined);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^Cannot reach http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/);

    const box = scriptedUi([choose('Any OpenAI-compatible URL'), () => undefined]);
    assert.equal(await chooseModel(deps(box.ui)), undefined);
    const urlBox = box.asked[1];
    assert.ok(urlBox?.kind === 'input');
    assert.match(urlBox.validate?.('localhost:11434') ?? '', /use an http or https URL/);
  });

  it('a local server: the one that answers is taken, and its models listed', async () => {
    const { ui, errors } = scriptedUi([choose('A local server'), choose('fixture-model')]);
    const choice = await chooseModel(
      deps(ui, {
        localServers: [
          { label: 'Ollama', baseUrl: closedUrl },
          { label: 'LM Studio', baseUrl: open.url },
        ],
      }),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(choice, { baseUrl: open.url, model: 'fixture-model', label: 'LM Studio' });
  });

  it('no local server running: says which addresses were tried and what to do', async () => {
    const { ui, errors } = scriptedUi([choose('A local server')]);
    const choice = await chooseModel(
      deps(ui, { localServers: [{ label: 'Ollama', baseUrl: closedUrl }] }),
    );
    assert.equal(choice, undefined);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /No local model server answered: Ollama \(127\.0\.0\.1:\d+\)/);
    assert.match(errors[0]!, /Any OpenAI-compatible URL/);
  });

  it('OpenRouter: a stored key of another service is not sent there; a key of the wrong shape is refused', async () => {
    const { ui, asked } = scriptedUi([choose('OpenRouter'), () => undefined]);
    assert.equal(
      await chooseModel(deps(ui, { storedKey: async () => 'sk-proj-openai' })),
      undefined,
    );
    const box = asked[1];
    assert.ok(box?.kind === 'input' && box.password);
    assert.match(box.validate?.('sk-proj-openai') ?? '', /OpenRouter keys start sk-or-/);
    assert.equal(box.validate?.('sk-or-v1-abc'), undefined);
  });

  it('backing out at the first question chooses nothing', async () => {
    const { ui } = scriptedUi([() => undefined]);
    assert.equal(await chooseModel(deps(ui)), undefined);
  });
});

describe('a key alone', () => {
  it('with no base URL selects its service and default model', () => {
    assert.deepEqual(choiceForKeyAlone('sk-or-v1-abc', { baseUrl: '' }), {
      baseUrl: 'https://openrouter.ai/api/v1',
      model: 'google/gemini-2.5-flash',
      label: 'OpenRouter',
    });
    assert.deepEqual(choiceForKeyAlone('sk-proj-abc', { baseUrl: '' }), {
      baseUrl: 'https://api.openai.com/v1',
      model: 'gpt-4o-mini',
      label: 'OpenAI',
    });
  });

  it('changes nothing when a base URL is set or the key is of no known shape', () => {
    assert.equal(
      choiceForKeyAlone('sk-or-v1-abc', { baseUrl: 'http://127.0.0.1:11434/v1' }),
      undefined,
    );
    assert.equal(choiceForKeyAlone('cog-test-key', { baseUrl: '' }), undefined);
  });
});

describe('applying a choice', () => {
  it('stores the key first and writes the model last (each write restarts the runtime)', async () => {
    const writes: string[] = [];
    const to = {
      storeKey: async (k: string) => void writes.push(`key ${k}`),
      setKeyAside: async (origin: string) => void writes.push(`aside ${origin}`),
      setUserSetting: async (k: string, v: string | undefined) =>
        void writes.push(`${k} ${v ?? '(removed)'}`),
    };
    await applyChoice({ baseUrl: 'http://h/v1', model: 'm', label: 'h', apiKey: 'sk-x' }, to);
    assert.deepEqual(writes, [
      'languageModel (removed)',
      'key sk-x',
      'baseUrl http://h/v1',
      'model m',
    ]);
    writes.length = 0;
    await applyChoice({ baseUrl: 'http://h/v1', model: 'm', label: 'h' }, to);
    assert.deepEqual(writes, ['languageModel (removed)', 'baseUrl http://h/v1', 'model m']);
    writes.length = 0;
    const back = { baseUrl: 'http://g/v1', model: 'n', label: 'g', apiKey: 'sk-g' };
    await applyChoice({ ...back, setAsideFor: 'http://h' }, to);
    assert.deepEqual(writes, [
      'languageModel (removed)',
      'aside http://h',
      'key sk-g',
      'baseUrl http://g/v1',
      'model n',
    ]);
    writes.length = 0;
    await applyChoice(
      { kind: 'editor', languageModel: 'copilot/gpt-4o', model: 'GPT-4o', label: 'VS Code' },
      to,
    );
    assert.deepEqual(
      writes,
      ['languageModel copilot/gpt-4o'],
      'an editor model is one setting: no key moves and the endpoint stays for later',
    );
  });
});
