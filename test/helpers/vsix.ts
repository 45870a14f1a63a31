import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The arguments `npm run package` gives vsce after `vsce package`, read from package.json
 * so the tests package exactly as a release does (and see the same warnings).
 */
export function packageScriptArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const m = /vsce package (.*)$/.exec(pkg.scripts.package);
  if (!m) throw new Error('package.json scripts.package does not run `vsce package`');
  const args = m[1].trim().split(/\s+/);
  const out = args.indexOf('--out');
  if (out >= 0) args.splice(out, 2);
  return args;
}

/** Everything that goes into the .vsix, for deciding whether one on disk is out of date. */
export function vsixInputs(): string[] {
  const inputs = [
    'package.json',
    '.vscodeignore',
    'extension/README.md',
    'CHANGELOG.md',
    'LICENSE',
  ];
  for (const f of readdirSync(join(root, 'media'), { recursive: true }))
    inputs.push(join('media', String(f)));
  for (const f of ['cog.mjs', 'extension.cjs', 'sql-runner.mjs', 'sql-asm.cjs'])
    inputs.push(`dist/${f}`);
  for (const f of readdirSync(join(root, 'dist', 'webview'))) inputs.push(`dist/webview/${f}`);
  return inputs;
}

/** Whether the .vsix at `path` is newer than everything that goes into it. */
export function vsixIsFresh(path: string): boolean {
  if (!existsSync(path)) return false;
  const built = statSync(path).mtimeMs;
  return vsixInputs().every(
    (f) => !existsSync(join(root, f)) || statSync(join(root, f)).mtimeMs < built,
  );
}

/** Runs vsce as `npm run package` does (without rebuilding dist/); resolves with its output. */
export function packageVsix(out: string): Promise<string> {
  const vsce = join(root, 'node_modules', '.bin', 'vsce');
  return new Promise((resolve, reject) => {
    const child = spawn(vsce, ['package', ...packageScriptArgs(), '--out', out], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`vsce package exited ${code}:\n${output}`)),
    );
  });
}
