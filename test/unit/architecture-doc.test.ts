/**
 * docs/ARCHITECTURE.md names the files it describes; a file renamed or removed without the
 * document following fails here, and so does a README that stops linking to it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');

/** Every path under the source folders, relative to the root. */
function sourceFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['protocol', 'server', 'extension', 'webview', 'web', 'test']) {
    for (const f of readdirSync(join(root, dir), { recursive: true }))
      out.push(`${dir}/${String(f)}`);
  }
  return out;
}

test('every file docs/ARCHITECTURE.md names exists', () => {
  const files = sourceFiles();
  // Build output (dist/) is made by esbuild.mjs, not kept in the repository.
  const named = new Set(
    [...doc.matchAll(/[\w./-]+\.(?:ts|mjs)\b/g)]
      .map((m) => m[0])
      .filter((n) => !n.startsWith('dist/')),
  );
  assert.ok(named.size > 20, `the document names ${named.size} files`);
  const missing = [...named].filter(
    (name) => !existsSync(join(root, name)) && !files.some((f) => f.endsWith(`/${name}`)),
  );
  assert.deepEqual(missing, [], 'named in docs/ARCHITECTURE.md but not in the repository');
});

test('the README links the architecture document, and nothing outside the repository', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.match(readme, /\(docs\/ARCHITECTURE\.md\)/);
  assert.doesNotMatch(readme + doc, /\.\.\/shared/, 'a clone has no ../shared');
});
