// Byte-level stdin/stdout for the wasm host. The host never touches process.stdin,
// process.stdout or process.stderr: for a pipe those are net.Socket objects, and a socket
// reachable from the sandboxed code is a way onto the network (`.constructor` is
// net.Socket). Plain file-descriptor calls create no such object.

import { Buffer } from 'node:buffer';
import { readSync, writeSync } from 'node:fs';

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` without spinning; used while a non-blocking pipe is busy. */
function pause(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Reads fd 0 to the end. Synchronous on purpose: no stream object is ever created. */
export function readStdin() {
  const chunks = [];
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    let n;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        pause(5);
        continue;
      }
      if (err.code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes all of `data` to `fd` before returning, so output streams to the parent as it is
 * produced even while the sandboxed code keeps the event loop busy.
 * @param {1 | 2} fd
 * @param {string | Uint8Array} data
 */
export function writeAll(fd, data) {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') return; // EPIPE: the parent stopped listening.
      pause(2);
    }
  }
}
