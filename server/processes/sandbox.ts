import { findExecutable } from './find-executable.js';
import { SYSTEM_PATH } from './linux/index.js';

/** A program and its arguments, ready for `spawn`. */
export interface Command {
  file: string;
  args: string[];
}

let prlimitPath: string | null | undefined;

/**
 * Caps the command's address space (RLIMIT_AS, soft and hard, so the child cannot raise
 * it), for the tiers that are not a Linux sandbox (which caps itself, see linux/index.ts).
 * V8 heap flags only bound the JS heap; this bounds everything, native allocations
 * included. prlimit when present, else the shell's `ulimit -v`; on Linux, if that fails,
 * the command does not run at all rather than running uncapped.
 */
export function withMemoryCap(cmd: Command, bytes: number): Command {
  if (process.platform === 'win32') return cmd;
  if (prlimitPath === undefined) prlimitPath = findExecutable('prlimit', SYSTEM_PATH) ?? null;
  const limit = Math.max(1, Math.floor(bytes));
  if (prlimitPath !== null) {
    return { file: prlimitPath, args: [`--as=${limit}`, '--core=0', '--', cmd.file, ...cmd.args] };
  }
  const kib = Math.max(1, Math.floor(limit / 1024));
  // macOS refuses RLIMIT_AS outright; failing closed there would mean no code runs at all.
  const onFailure = process.platform === 'linux' ? 'exit 126' : 'true';
  return {
    file: '/bin/sh',
    args: ['-c', `ulimit -v ${kib} || ${onFailure}; exec "$@"`, 'sh', cmd.file, ...cmd.args],
  };
}
