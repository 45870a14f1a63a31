import type { Disposable } from './emitter.js';
import {
  isDiscoveryError,
  listModels,
  LOCAL_SERVERS,
  normaliseBaseUrl,
  OPENAI,
  OPENROUTER,
  probeLocalServers,
  serviceForKey,
  type KnownService,
  type LocalServer,
  type Probed,
} from './model-discovery.js';
import { keyBelongsTo, keyHome } from './key-origin.js';

/**
 * "Cog: Choose a Model": where the model comes from (a service, a local server, any
 * OpenAI-compatible URL, or a source registered from outside, such as the editor's own
 * models), then which of the models it lists. The VS Code UI is behind `PickerUi`, so the
 * whole flow runs in a unit test against real HTTP servers.
 */

/** What the picker settled on: written to the user's settings (and the key to SecretStorage). */
export type ModelChoice = EndpointChoice | EditorModelChoice;

/** A model behind an OpenAI-compatible URL: cog.baseUrl and cog.model. */
export interface EndpointChoice {
  kind?: undefined;
  baseUrl: string;
  model: string;
  /** A key to make the stored one (typed, or set aside earlier); absent: keep the stored one. */
  apiKey?: string;
  /**
   * The origin the stored key belongs to, when that is not `baseUrl`'s: the key is set aside
   * for it (kept, not sent to the new URL) before the choice is written.
   */
  setAsideFor?: string;
  /** For the confirmation: "OpenRouter", "Ollama", the URL's host. */
  label: string;
}

/** One of the editor's own language models: cog.languageModel ("vendor/id"); no key. */
export interface EditorModelChoice {
  kind: 'editor';
  languageModel: string;
  /** For the confirmation: the model's name and where it comes from. */
  model: string;
  label: string;
}

/** One more place models come from, offered in the first list (see ModelSources). */
export interface ExtraModelSource {
  label: string;
  detail?: string;
  /** Asks whatever it needs; undefined when the user backed out. */
  pick(): Promise<ModelChoice | undefined>;
}

export interface PickItem<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

/** The few VS Code interactions the flow needs (extension/model-commands.ts implements them). */
export interface PickerUi {
  pick<T>(title: string, placeHolder: string, items: PickItem<T>[]): Promise<T | undefined>;
  input(opts: {
    title: string;
    prompt: string;
    value?: string;
    password?: boolean;
    validate?(value: string): string | undefined;
  }): Promise<string | undefined>;
  /** Runs `work` with a progress note; the user's cancel aborts its signal. */
  busy<T>(title: string, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  error(message: string): void;
}

export interface PickerDeps {
  ui: PickerUi;
  /** The key in SecretStorage now (the one the runtime sends), if any. */
  storedKey(): Promise<string | undefined>;
  /** A key set aside earlier for `origin` (see ModelChoice.setAsideFor), if any. */
  keySetAsideFor(origin: string): Promise<string | undefined>;
  /** The user's cog.baseUrl and cog.model now ('' when unset). */
  current(): { baseUrl: string; model: string };
  extraSources(): readonly ExtraModelSource[];
  /** The local servers to probe (tests name their own). */
  localServers?: readonly LocalServer[];
}

/** Sources registered from outside the picker (extension.ts wires the editor's models here). */
export class ModelSources {
  private readonly sources: ExtraModelSource[] = [];

  register(source: ExtraModelSource): Disposable {
    this.sources.push(source);
    return {
      dispose: () => {
        const i = this.sources.indexOf(source);
        if (i >= 0) this.sources.splice(i, 1);
      },
    };
  }

  list(): readonly ExtraModelSource[] {
    return [...this.sources];
  }
}

const TITLE = 'Cog: Choose a Model';

type Start =
  | { kind: 'service'; service: KnownService }
  | { kind: 'local' }
  | { kind: 'url' }
  | { kind: 'extra'; source: ExtraModelSource };

/** Runs the whole flow; undefined when the user backed out or an error was shown. */
export async function chooseModel(deps: PickerDeps): Promise<ModelChoice | undefined> {
  const { ui } = deps;
  const current = deps.current();
  const start = await ui.pick<Start>(
    TITLE,
    current.baseUrl
      ? `Now: ${current.model || 'no model'} at ${current.baseUrl}. Where should the model come from?`
      : 'Where should the model come from?',
    [
      {
        label: OPENROUTER.label,
        detail: `Hundreds of hosted models with one key (${OPENROUTER.keyHint})`,
        value: { kind: 'service', service: OPENROUTER },
      },
      {
        label: OPENAI.label,
        detail: `OpenAI's models with an OpenAI key (${OPENAI.keyHint})`,
        value: { kind: 'service', service: OPENAI },
      },
      {
        label: 'A local server',
        detail: `${LOCAL_SERVERS.map((s) => s.label).join(', ')} on this machine: nothing leaves it`,
        value: { kind: 'local' },
      },
      {
        label: 'Any OpenAI-compatible URL',
        detail: 'vLLM, a gateway, another host: type its base URL',
        value: { kind: 'url' },
      },
      ...deps.extraSources().map((source) => ({
        label: source.label,
        ...(source.detail ? { detail: source.detail } : {}),
        value: { kind: 'extra', source } as const,
      })),
    ],
  );
  if (!start) return undefined;
  try {
    const choice = await fromStart(deps, start);
    return choice && (await placeStoredKey(deps, current, choice));
  } catch (err) {
    if (isAbort(err)) return undefined;
    ui.error(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

function fromStart(deps: PickerDeps, start: Start): Promise<ModelChoice | undefined> {
  switch (start.kind) {
    case 'service':
      return fromService(deps, start.service);
    case 'local':
      return fromLocal(deps);
    case 'url':
      return fromUrl(deps);
    case 'extra':
      return start.source.pick();
    default: {
      const never: never = start;
      throw new Error(`unknown source ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The key that may be sent to `baseUrl` while listing its models: the stored one if it is
 * that origin's (or no URL's yet), else one set aside for that origin earlier (`restored`:
 * it becomes the stored key again if this URL is chosen). Never another service's key.
 */
async function keyFor(
  deps: PickerDeps,
  baseUrl: string,
): Promise<{ key?: string; restored?: boolean }> {
  const target = new URL(baseUrl).origin;
  const stored = await deps.storedKey();
  if (stored && keyBelongsTo(stored, deps.current(), target)) return { key: stored };
  const saved = await deps.keySetAsideFor(target);
  return saved ? { key: saved, restored: true } : {};
}

/** Marks the stored key to be set aside when it belongs to another origin than the choice's. */
async function placeStoredKey(
  deps: PickerDeps,
  current: { baseUrl: string },
  choice: ModelChoice,
): Promise<ModelChoice> {
  if (choice.kind === 'editor') return choice;
  const stored = await deps.storedKey();
  if (!stored || keyBelongsTo(stored, current, new URL(choice.baseUrl).origin)) return choice;
  const home = keyHome(stored, current);
  return home ? { ...choice, setAsideFor: home } : choice;
}

/** OpenRouter or OpenAI: the stored key if it is that service's, else the one the user types. */
async function fromService(
  deps: PickerDeps,
  service: KnownService,
): Promise<ModelChoice | undefined> {
  const known = await keyFor(deps, service.baseUrl);
  const fits = known.key !== undefined && serviceForKey(known.key) === service;
  let apiKey = fits && known.restored ? known.key : undefined;
  if (!fits) {
    apiKey = await deps.ui.input({
      title: `${TITLE}: ${service.label}`,
      prompt: `Your ${service.label} API key (${service.keyHint}). Kept in VS Code's secret storage.`,
      password: true,
      validate: (v) =>
        serviceForKey(v) === service
          ? undefined
          : `${service.label} keys start ${service.keyHint.replace('…', '')}`,
    });
    if (apiKey === undefined) return undefined;
    apiKey = apiKey.trim();
  }
  const key = apiKey ?? known.key;
  const models = await deps.ui.busy(`Cog: asking ${service.label} for its models…`, (signal) =>
    listModels(service.baseUrl, { ...(key ? { apiKey: key } : {}), signal }),
  );
  const model = await pickModel(deps, service.label, models, service.defaultModel);
  if (!model) return undefined;
  return { baseUrl: service.baseUrl, model, label: service.label, ...(apiKey ? { apiKey } : {}) };
}

/** The local servers that answered, then one of its models. */
async function fromLocal(deps: PickerDeps): Promise<ModelChoice | undefined> {
  const servers = deps.localServers ?? LOCAL_SERVERS;
  const probed = await deps.ui.busy('Cog: looking for local model servers…', (signal) =>
    probeLocalServers(servers, { signal }),
  );
  const up = probed.filter((p): p is Probed & { models: string[] } => 'models' in p);
  const [only] = up;
  if (!only) {
    const where = servers.map((s) => `${s.label} (${new URL(s.baseUrl).host})`).join(', ');
    deps.ui.error(
      `No local model server answered: ${where}. Start one, or choose "Any OpenAI-compatible URL" and type its address.`,
    );
    return undefined;
  }
  const server =
    up.length === 1
      ? only
      : await deps.ui.pick(
          `${TITLE}: a local server`,
          'Which server?',
          up.map((p) => ({
            label: p.label,
            description: p.baseUrl,
            detail: `${p.models.length} model${p.models.length === 1 ? '' : 's'}`,
            value: p,
          })),
        );
  if (!server) return undefined;
  const model = await pickModel(deps, server.label, server.models);
  return model ? { baseUrl: server.baseUrl, model, label: server.label } : undefined;
}

/** A URL the user types; its models listed with the stored key, asking for one on a 401. */
async function fromUrl(deps: PickerDeps): Promise<ModelChoice | undefined> {
  const current = deps.current();
  const typed = await deps.ui.input({
    title: `${TITLE}: OpenAI-compatible URL`,
    prompt: 'The base URL of the API, usually ending in /v1 (e.g. http://127.0.0.1:8000/v1)',
    ...(current.baseUrl ? { value: current.baseUrl } : {}),
    validate: (v) => {
      try {
        normaliseBaseUrl(v);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  if (typed === undefined) return undefined;
  const baseUrl = normaliseBaseUrl(typed);
  const label = new URL(baseUrl).host;
  const known = await keyFor(deps, baseUrl);
  const list = (key: string | undefined) =>
    deps.ui.busy(`Cog: asking ${label} for its models…`, (signal) =>
      listModels(baseUrl, { ...(key ? { apiKey: key } : {}), signal }),
    );
  let apiKey = known.restored ? known.key : undefined;
  let models: string[];
  try {
    models = await list(known.key);
  } catch (err) {
    if (!isDiscoveryError(err) || err.code !== 'unauthorized') throw err;
    apiKey = await deps.ui.input({
      title: `${TITLE}: API key for ${label}`,
      prompt: `${err.message} Type the key for ${label}; it is kept in VS Code's secret storage.`,
      password: true,
      validate: (v) => (v.trim() ? undefined : 'Type the key, or press Escape'),
    });
    if (apiKey === undefined) return undefined;
    apiKey = apiKey.trim();
    models = await list(apiKey);
  }
  const model = await pickModel(deps, label, models);
  return model ? { baseUrl, model, label, ...(apiKey ? { apiKey } : {}) } : undefined;
}

/** One of `models` (the default first), or a name the user types when the list is empty. */
async function pickModel(
  deps: PickerDeps,
  where: string,
  models: readonly string[],
  preferred?: string,
): Promise<string | undefined> {
  if (!models.length) {
    const typed = await deps.ui.input({
      title: `${TITLE}: ${where}`,
      prompt: `${where} lists no models. Type the name of the model to use.`,
      ...(preferred ? { value: preferred } : {}),
      validate: (v) => (v.trim() ? undefined : 'Type a model name, or press Escape'),
    });
    return typed?.trim() || undefined;
  }
  const now = deps.current().model;
  const ordered =
    preferred && models.includes(preferred)
      ? [preferred, ...models.filter((m) => m !== preferred)]
      : models;
  return deps.ui.pick(
    `${TITLE}: ${where}`,
    `${models.length} model${models.length === 1 ? '' : 's'}: type to filter`,
    ordered.map((m) => ({
      label: m,
      ...(m === preferred
        ? { description: 'Cog’s default' }
        : m === now
          ? { description: 'now' }
          : {}),
      value: m,
    })),
  );
}

/**
 * What a key alone selects when the user has no base URL: its service and that service's
 * default model, or nothing when the key is of no known shape or a URL is already set.
 */
export function choiceForKeyAlone(
  key: string,
  current: { baseUrl: string },
): ModelChoice | undefined {
  if (current.baseUrl) return undefined;
  const service = serviceForKey(key);
  return service && { baseUrl: service.baseUrl, model: service.defaultModel, label: service.label };
}

/** Where a choice is written: the user's settings and SecretStorage (model-commands.ts). */
export interface ChoiceWriter {
  storeKey(key: string): Promise<void>;
  /** Moves the stored key aside for `origin` (kept, no longer sent) and removes it. */
  setKeyAside(origin: string): Promise<void>;
  /** Writes `cog.<key>` in the user's (global) settings; undefined removes it. */
  setUserSetting(
    key: 'baseUrl' | 'model' | 'languageModel',
    value: string | undefined,
  ): Promise<void>;
}

/**
 * Writes a choice. The keys go first and the model last: each write restarts the runtime,
 * and the last restart is the one that must see all three. An editor model is one setting,
 * and leaves cog.baseUrl and cog.model for when it is no longer used; an endpoint choice
 * stops using an editor model, which would otherwise still answer.
 */
export async function applyChoice(choice: ModelChoice, to: ChoiceWriter): Promise<void> {
  if (choice.kind === 'editor') return to.setUserSetting('languageModel', choice.languageModel);
  await to.setUserSetting('languageModel', undefined);
  if (choice.setAsideFor) await to.setKeyAside(choice.setAsideFor);
  if (choice.apiKey) await to.storeKey(choice.apiKey);
  await to.setUserSetting('baseUrl', choice.baseUrl);
  await to.setUserSetting('model', choice.model);
}

function isAbort(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}
