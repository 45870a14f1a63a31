import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { ApprovalPolicy, RuntimeEvent } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';
import { ChatController, type ChatControllerOptions } from '../../extension/chat-controller.js';
import type { Logger } from '../../extension/emitter.js';
import { RuntimeConnection, type ConnectionOptions } from '../../extension/runtime-connection.js';
import { runtimeEnv, type CogSettings } from '../../extension/runtime-env.js';
import { startLocalRuntime } from '../../extension/runtime-process.js';
import { cogBin, ensureBuilt } from '../helpers/cog-process.js';

/**
 * Shared by the extension's Node-side tests: the connection and relay are plain Node, so
 * they run here against a real `cog serve` child, started the way the extension starts it.
 */

/** Builds dist once and hands out temp homes that are removed after the file's tests. */
export function useHomes(prefix: string): () => string {
  const homes: string[] = [];
  before(() => ensureBuilt());
  after(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    homes.push(dir);
    return dir;
  };
}

/** A Logger that keeps the lines at `keep` and above. */
export function recordingLog(keep: 'info' | 'warn' = 'info'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return {
    lines,
    log: {
      trace: () => undefined,
      debug: () => undefined,
      info: keep === 'info' ? push : () => undefined,
      warn: push,
      error: keep === 'info' ? push : () => undefined,
    },
  };
}

const settings: CogSettings = {
  baseUrl: '',
  model: '',
  models: { input: '', thinker: '', output: '', memorizer: '' },
  pipeline: 'fast',
  approvalPolicy: 'auto',
  serverUrl: '',
  oauthClientId: '',
};

/** What the extension would give the child, with `extra` on top (to break it on purpose). */
export function env(dir: string, extra: NodeJS.ProcessEnv = {}) {
  return {
    ...runtimeEnv({ PATH: process.env.PATH, HOME: dir }, settings, dir, undefined),
    ...extra,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function localConnection(
  dir: string,
  log: Logger,
  extra: NodeJS.ProcessEnv = {},
  more: Partial<ConnectionOptions> = {},
) {
  return new RuntimeConnection({
    ...more,
    log,
    clientVersion: 'test',
    backoff: { baseMs: 100, maxMs: 400 },
    launch: async (signal) => {
      const r = await startLocalRuntime({
        execPath: process.execPath,
        bundle: cogBin,
        env: env(dir, extra),
        log,
        signal,
      });
      return { ...r, label: `local runtime (pid ${r.pid})`, stop: () => r.stop() };
    },
  });
}

/** A chat controller on `connection` whose remembered session is readable by the test. */
export function newChat(
  connection: RuntimeConnection,
  log: Logger,
  approval: ApprovalPolicy,
  remembered?: string,
  more: Partial<ChatControllerOptions> = {},
) {
  const memory = { session: remembered };
  const chat = new ChatController({
    connection,
    log,
    approval: () => approval,
    memory: { get: () => memory.session, set: (s) => (memory.session = s) },
    ...more,
  });
  return { chat, memory };
}

export function until<T>(
  subscribe: (listener: (v: T) => void) => { dispose(): void },
  pred: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = subscribe((v) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(v);
    });
  });
}

/**
 * A webview that applies snapshots and events as the real one does, noting any gap (a
 * page's own events skip by design: only what follows it must be contiguous).
 */
export function fakeWebview() {
  const messages: HostToWebview[] = [];
  let lastSeq = 0;
  let session: string | undefined;
  const applied: RuntimeEvent[] = [];
  const problems: string[] = [];
  const apply = (events: RuntimeEvent[], page = false) => {
    for (const e of events) {
      if (e.seq <= lastSeq) {
        if (page) problems.push(`a page out of order: ${e.seq} after ${lastSeq}`);
        continue;
      }
      if (e.seq !== lastSeq + 1 && applied.length && !page)
        problems.push(`gap ${lastSeq} → ${e.seq}`);
      lastSeq = e.seq;
      applied.push(e);
    }
  };
  const post = (m: HostToWebview) => {
    messages.push(m);
    if (m.type === 'snapshot') {
      if (!m.resumed) {
        applied.length = 0;
        lastSeq = 0;
      }
      session = m.session;
      apply(m.events, m.base !== undefined);
    } else if (m.type === 'events') {
      if (m.session === session) apply(m.events);
    }
  };
  return {
    post,
    messages,
    applied,
    problems,
    get lastSeq() {
      return lastSeq;
    },
    get session() {
      return session;
    },
  };
}
