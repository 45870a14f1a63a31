import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The absolute path of `name` on `pathEnv`, or undefined. Interpreters are resolved here,
 * against the child's own PATH, rather than left to exec: behind bubblewrap or prlimit a
 * missing program only shows up as a wrapper's exit code, and the user deserves
 * "python3 is not installed" instead.
 */
export function findExecutable(name: string, pathEnv: string): string | undefined {
  if (isAbsolute(name)) return isExecutableFile(name) ? name : undefined;
  for (const dir of pathEnv.split(delimiter)) {
    // An empty PATH entry means the current directory: never search the workspace.
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
