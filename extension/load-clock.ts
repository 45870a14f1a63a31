import { performance } from 'node:perf_hooks';

/**
 * When the bundle started evaluating. Imported first by extension.ts, so esbuild emits it
 * before every dependency: activation time then includes loading the code, as VS Code's
 * own "activation time" does.
 */
export const loadStarted = performance.now();
