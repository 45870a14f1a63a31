#!/usr/bin/env node
// Runs an extensionTestsPath module in code-server's extension host with an extension under
// development loaded, and exits with the code the extension host reports (0 passed, 1 run()
// rejected, 124 timed out, 2 bad usage):
//
//   test/setup/vscode-ext-test.mjs --dev EXT_DIR --tests TESTS_MODULE [--folder DIR] [--timeout MS]
/* global process, console */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const usage =
  'usage: vscode-ext-test.mjs --dev EXT_DIR --tests TESTS_MODULE [--folder DIR] [--timeout MS]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      dev: { type: 'string' },
      tests: { type: 'string' },
      folder: { type: 'string' },
      timeout: { type: 'string', default: '120000' },
    },
  }));
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err}\n${usage}`);
  process.exit(2);
}
const timeout = Number(values.timeout);
if (!values.dev || !values.tests || !(timeout > 0)) {
  console.error(usage);
  process.exit(2);
}

try {
  const { runExtensionTests } = await tsImport('../helpers/code-server.ts', import.meta.url);
  process.exit(
    await runExtensionTests({
      devPath: resolve(values.dev),
      testsPath: resolve(values.tests),
      folder: values.folder && resolve(values.folder),
      timeout,
    }),
  );
} catch (err) {
  console.error(err);
  process.exit(1);
}
