import type { CogConfig } from '../config.js';
import { serveStdio } from '../mcp/stdio.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { modelLine } from './chat/format.js';

/**
 * Makes console.log/info/debug write to stderr. Where stdout carries a protocol (JSON-RPC
 * in `cog mcp`, the one machine-readable line of `cog serve`), a dependency printing
 * there would corrupt it.
 */
export function keepStdoutForProtocol(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

/** What the process serves with, for the first stderr line: what answers, and why. */
export function engineLabel(runtime: Runtime): string {
  return modelLine(runtime);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** `cog mcp`: one MCP client on stdin/stdout until stdin closes or a signal arrives. */
export async function runMcp(config: CogConfig): Promise<number> {
  keepStdoutForProtocol();
  const log = (line: string) => process.stderr.write(`cog mcp: ${line}\n`);
  const runtime = await createRuntime(config);
  let drainMs = 0;
  try {
    const handle = await serveStdio(runtime, { log });
    log(`serving MCP on stdio · ${engineLabel(runtime)}`);
    const why = await Promise.race([handle.closed.then(() => 'stdin'), untilSignal()]);
    await handle.close();
    // A client that hangs up right after a reply ("I'm Ada", then exit) still gets the
    // memory that reply taught; a signal means stop now.
    drainMs = why === 'stdin' ? MEMORIZER_DRAIN_MS : 0;
  } finally {
    await runtime.close({ drainMs });
  }
  return 0;
}

/** How long `cog mcp` lets pending memorizer updates finish after stdin closes. */
const MEMORIZER_DRAIN_MS = 10_000;
