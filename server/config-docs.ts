// Apart from config.ts so that `cog --help` reads it without loading the validator.

/** Every environment variable Cog reads, with what it does (for --help and the README). */
export const ENV_DOCS: ReadonlyArray<[string, string]> = [
  ['COG_LLM_BASE_URL', 'OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (Ollama)'],
  ['COG_LLM_API_KEY', 'API key for that endpoint (optional for local servers)'],
  ['COG_MODEL', 'model for every node'],
  ['COG_MODEL_INPUT', 'model for the Input node (likewise _THINKER, _OUTPUT, _MEMORIZER)'],
  ['OPENROUTER_API_KEY', 'alone: use OpenRouter with its default model'],
  ['OPENAI_API_KEY', 'alone: use OpenAI with its default model'],
  ['COG_PIPELINE', 'fast (default) or faithful: the prototype’s sequential order'],
  ['COG_APPROVAL', 'ask (default), auto or deny: whether model-written code may run'],
  ['COG_TOOLS', 'native (default) function calling, or fenced code blocks'],
  [
    'COG_SANDBOX',
    'auto (default: the strongest isolation tier that works), bubblewrap, namespaces, wasm, or none (no sandbox, runs unasked under auto: only if you mean it)',
  ],
  ['COG_OIDC_ISSUER', 'cog serve: accept OAuth access tokens of this issuer (as --issuer)'],
  ['COG_OIDC_AUDIENCE', 'cog serve: the resource URL tokens must name (as --audience)'],
  [
    'COG_OIDC_CLIENT_ID',
    'cog serve: Cog’s client at the issuer, with COG_OIDC_CLIENT_SECRET: the browser sign-in (redirect <server>/auth/callback) and token introspection (opaque tokens)',
  ],
  ['COG_OIDC_CLIENT_SECRET', 'the secret of that client'],
  [
    'COG_PRINCIPAL_TURNS',
    'sessions one principal keeps busy at once (default 8); past it a message is refused',
  ],
  [
    'COG_PRINCIPAL_CODE_RUNS',
    'code runs of one principal at once (default 2); past it a run waits for a slot',
  ],
  [
    'COG_PRINCIPAL_REQUESTS_PER_MINUTE',
    'cog serve: HTTP requests a minute per principal (default 600); past it 429 + Retry-After',
  ],
  [
    'COG_DATABASE_URL',
    'postgres://user:password@host/db: sessions in PostgreSQL, shared by any number of cog serve instances (as --database)',
  ],
  ['COG_HOME', 'state directory: sessions, workspaces, config.json (default ~/.cog)'],
  ['COG_OFFLINE', '1: ignore any configured model and use the offline engine'],
];
