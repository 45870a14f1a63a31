import { join } from 'node:path';

/**
 * Parent variables a child may inherit. An allowlist, not a denylist: the server's
 * environment holds API keys and tokens under names nobody can enumerate in advance,
 * so anything not named here never reaches model-written code.
 */
export const INHERITED_ENV = [
  'PATH',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_MESSAGES',
  'TZ',
  // pyenv shims pick the interpreter from these; they name a version, not a secret.
  'PYENV_ROOT',
  'PYENV_VERSION',
  // Windows itself needs these to start a process (they name the system folder only).
  'SYSTEMROOT',
  'WINDIR',
] as const;

/** The child's private temp directory, inside its workspace so it is writable under bubblewrap. */
export function workspaceTmp(workspace: string): string {
  return join(workspace, '.tmp');
}

/**
 * The environment inside a Linux sandbox: nothing of the runtime's, not even its PATH,
 * which names host directories the sandbox does not have.
 */
export function sandboxEnv(workspace: string): Record<string, string> {
  return buildChildEnv(workspace, { LANG: 'C.UTF-8' }, '/usr/local/bin:/usr/bin:/bin', '/tmp');
}

/**
 * The complete environment of a child process.
 * @param parent where inherited values come from (normally `process.env`)
 * @param path overrides PATH; the same value is used to find interpreters, so what the
 *   child sees and what the manager resolves agree
 */
export function buildChildEnv(
  workspace: string,
  parent: NodeJS.ProcessEnv,
  path?: string,
  tmp = workspaceTmp(workspace),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  if (path !== undefined) env.PATH = path;
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  env.HOME = workspace;
  env.TMPDIR = tmp;
  env.PYTHONDONTWRITEBYTECODE = '1';
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONIOENCODING = 'utf-8';
  // No display: plotting libraries must render to files instead of opening windows.
  env.MPLBACKEND = 'Agg';
  env.NO_COLOR = '1';
  // glibc reserves 64 MiB of address space per malloc arena (one per busy thread), and
  // RLIMIT_AS counts reservations: without this, Node's worker threads alone ate ~200 MiB
  // of the cap while loading sql.js.
  env.MALLOC_ARENA_MAX = '2';
  return env;
}
