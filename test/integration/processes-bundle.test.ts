import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const repo = resolve(import.meta.dirname, '../..');

test('sql runs from an esbuild bundle with the runner files beside it and no node_modules', async (t) => {
  // Under /tmp there is no node_modules up the tree, so only the copies can be found.
  const dir = mkdtempSync(join(tmpdir(), 'cog-processes-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { createProcessManager } from ${JSON.stringify(join(repo, 'server/processes/index.ts'))};
const pm = createProcessManager({ policy: 'auto', events: { onUpdate() {}, onOutput() {} } });
const r = await pm.run({ session: 'b', language: 'sql', code: 'SELECT 40 + 2 AS answer;', workspace: process.argv[2] });
await pm.close();
process.stdout.write(JSON.stringify(r));
`,
  );
  await build({
    entryPoints: [entry],
    outfile: join(dir, 'dist/cog.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  // The same copies esbuild.mjs makes.
  const { copySqlRunner } = (await import(
    join(repo, 'server/processes/wasm/bundle-files.mjs')
  )) as {
    copySqlRunner(outDir: string): void;
  };
  copySqlRunner(join(dir, 'dist'));

  const { stdout } = await promisify(execFile)(process.execPath, [
    join(dir, 'dist/cog.mjs'),
    join(dir, 'ws'),
  ]);
  const result = JSON.parse(stdout) as { process: { status: string }; output: string };
  assert.equal(result.process.status, 'done', result.output);
  assert.equal(result.output, 'answer\n------\n42\n(1 row)\n');
});
