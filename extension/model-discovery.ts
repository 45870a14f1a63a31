/**
 * Where models can come from, and what a server says it has: the well-known services a key
 * alone selects, the local servers probed on their usual ports, and `GET {base}/models` of
 * any OpenAI-compatible URL. No VS Code here, so all of it runs under plain node:test.
 */

/** A hosted service a key alone selects, with the model Cog starts on there. */
export interface KnownService {
  id: 'openrouter' | 'openai';
  label: string;
  baseUrl: string;
  defaultModel: string;
  /** How its keys begin, as shown to the user ("sk-or-…"). */
  keyHint: string;
}

/** The same services and defaults `cog` picks from a key alone in a terminal (server/config.ts). */
export const OPENROUTER: KnownService = {
  id: 'openrouter',
  label: 'OpenRouter',
  baseUrl: 'https://openrouter.ai/api/v1',
  defaultModel: 'google/gemini-2.5-flash',
  keyHint: 'sk-or-…',
};
export const OPENAI: KnownService = {
  id: 'openai',
  label: 'OpenAI',
  baseUrl: 'https://api.openai.com/v1',
  defaultModel: 'gpt-4o-mini',
  keyHint: 'sk-…',
};

/**
 * The service a key belongs to, from its prefix: OpenRouter's keys start `sk-or-`, OpenAI's
 * `sk-` (checked second, since OpenRouter's start so too). Anything else: undefined.
 */
export function serviceForKey(key: string): KnownService | undefined {
  const k = key.trim();
  if (k.startsWith('sk-or-')) return /^sk-or-\S+$/.test(k) ? OPENROUTER : undefined;
  if (/^sk-\S+$/.test(k)) return OPENAI;
  return undefined;
}

/** A model server that usually runs on this machine, at its OpenAI-compatible address. */
export interface LocalServer {
  label: string;
  baseUrl: string;
}

export const LOCAL_SERVERS: readonly LocalServer[] = [
  { label: 'Ollama', baseUrl: 'http://127.0.0.1:11434/v1' },
  { label: 'LM Studio', baseUrl: 'http://127.0.0.1:1234/v1' },
  { label: 'llama.cpp', baseUrl: 'http://127.0.0.1:8080/v1' },
];

export type DiscoveryErrorCode = 'bad-url' | 'unreachable' | 'unauthorized' | 'not-openai' | 'http';

/** Checked by name and code, not `instanceof`, so it holds across bundles. */
export function isDiscoveryError(err: unknown): err is DiscoveryError {
  return (err as { name?: unknown } | null)?.name === 'DiscoveryError';
}

/** Why a server's model list could not be read, in words the user can act on. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The base URL the user typed, checked and tidied: http or https, no query or fragment,
 * no trailing slash. Throws a `bad-url` DiscoveryError saying what to type instead.
 */
export function normaliseBaseUrl(text: string): string {
  const raw = text.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DiscoveryError(
      'bad-url',
      `"${raw.slice(0, 80)}" is not a URL: type one like http://127.0.0.1:11434/v1`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DiscoveryError(
      'bad-url',
      `${url.protocol} is not supported: use an http or https URL, e.g. http://127.0.0.1:11434/v1`,
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new DiscoveryError(
      'bad-url',
      'Use the base URL alone (no query, fragment or password): e.g. https://host/v1',
    );
  }
  return url.href.replace(/\/+$/, '');
}

export interface ListOptions {
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  signal?: AbortSignal;
  /** Default 10 s: a server that does not answer by then counts as unreachable. */
  timeoutMs?: number;
}

/**
 * The ids of the models `GET {baseUrl}/models` lists (the OpenAI list shape,
 * `{data: [{id}]}`), sorted. Fails with a DiscoveryError whose code says what went wrong:
 * `unreachable` (no answer), `unauthorized` (401/403: the key), `not-openai` (an answer
 * that is not such a list), `http` (another status).
 */
export async function listModels(baseUrl: string, opts: ListOptions = {}): Promise<string[]> {
  const base = normaliseBaseUrl(baseUrl);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(`${base}/models`, {
      headers: {
        accept: 'application/json',
        ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
      },
      signal,
      redirect: 'error',
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    const why = timeout.aborted ? 'no answer in time' : causeOf(err);
    throw new DiscoveryError(
      'unreachable',
      `Cannot reach ${base} (${why}): check that the server is running and the URL is right.`,
    );
  }
  const text = await res.text().catch(() => '');
  if (res.status === 401 || res.status === 403) {
    throw new DiscoveryError(
      'unauthorized',
      `${base} refused the key (HTTP ${res.status}): ${opts.apiKey ? 'check it, or set another with Cog: Set API Key' : 'it needs an API key'}.`,
    );
  }
  if (!res.ok) {
    throw new DiscoveryError(
      res.status === 404 ? 'not-openai' : 'http',
      res.status === 404
        ? `${base}/models was not found (HTTP 404): is this an OpenAI-compatible API? Its base URL usually ends in /v1.`
        : `${base}/models answered HTTP ${res.status}: try again, or check the server's log.`,
    );
  }
  const ids = modelIds(text);
  if (!ids) {
    throw new DiscoveryError(
      'not-openai',
      `${base}/models did not answer with a model list: is this an OpenAI-compatible API? Its base URL usually ends in /v1.`,
    );
  }
  return ids;
}

/** The ids in an OpenAI model list, or undefined when `text` is not one. */
function modelIds(text: string): string[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const ids = data
    .map((m) => (m as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 200);
  return [...new Set(ids)].sort((a, b) => a.localeCompare(b));
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** One local server's answer: its models, or why it gave none. */
export type Probed = LocalServer & ({ models: string[] } | { error: DiscoveryError });

/** Asks every local server for its models at once; a server not running is quick to say so. */
export function probeLocalServers(
  servers: readonly LocalServer[] = LOCAL_SERVERS,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Probed[]> {
  return Promise.all(
    servers.map(async (s): Promise<Probed> => {
      try {
        return { ...s, models: await listModels(s.baseUrl, { timeoutMs: 2000, ...opts }) };
      } catch (err) {
        if (isDiscoveryError(err)) return { ...s, error: err };
        throw err;
      }
    }),
  );
}
