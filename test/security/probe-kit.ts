import type { Language } from '../../protocol/events.js';

/**
 * How a containment probe is written (probes.ts holds the probes). Each probe is the code
 * a hostile model would send through `run_code`, written as if it knew everything about
 * the host (paths, ports, pids), plus what the host checks afterwards. Probes print
 * whatever they obtain hex-encoded, so the redactor cannot hide a real leak from the
 * check: a secret counts as leaked in any form.
 */

/** What a probe may know about the host; every path and port is the real one. */
export interface ProbeHost {
  home: string;
  runtimePid: number;
  /** A process of the host started with a secret in its environment (the runtime's own
   * environment can only be planted after it started, which /proc/PID/environ never shows). */
  decoyPid: number;
  otherSession: string;
  otherWorkspace: string;
  otherLog: string;
  fakeSsh: string;
  ports: { mcp: number; model: number; tcp: number; udp: number };
  unixSocket: string;
  abstractSocket: string;
  /** Unique per probe: names files and processes it leaves behind. */
  marker: string;
  /** The token, for the redaction probe only (split so the code never holds it whole). */
  tokenHalves: [string, string];
}

export interface Probe {
  name: string;
  language: Language;
  code(h: ProbeHost): string;
  /** Runs until the host says so (cancel), or until its own time limit. */
  until?: 'cancel' | 'timeout';
  /**
   * Harmful when nothing contains it (it signals every process, forks without end, leaves
   * processes behind, walks the whole disk): never run in the unsandboxed control.
   */
  harmful?: true;
  /** Holds even with no sandbox (the environment is scrubbed, output is redacted). */
  heldUnsandboxed?: true;
  /** For probes whose success leaves no trace on the host: what in the output is one. */
  escapedIf?(output: string): string | undefined;
}

/** What a probe printed with `leak(label, …)`, decoded; undefined if it got nothing. */
export function got(output: string, label: string): string | undefined {
  const m = new RegExp(`^${label} GOT ([0-9a-f]*)$`, 'm').exec(output);
  return m ? Buffer.from(m[1] ?? '', 'hex').toString('utf8') : undefined;
}

const PY_PRELUDE = `
import os, sys, binascii
def leak(label, data):
    if isinstance(data, str):
        data = data.encode('utf-8', 'replace')
    print(label, 'GOT', binascii.hexlify(bytes(data)[:65536]).decode(), flush=True)
def attempt(label, fn):
    try:
        r = fn()
        leak(label, r if isinstance(r, (bytes, str)) else repr(r))
    except BaseException as e:
        print(label, 'refused:', type(e).__name__, str(e)[:200], flush=True)
def read(path):
    with open(path, 'rb') as f:
        return f.read()
def connect(host, port, payload):
    import socket
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(payload.encode())
    return b'CONNECTED ' + s.recv(100)
`;

export const py = (
  name: string,
  body: (h: ProbeHost) => string,
  extra: Partial<Probe> = {},
): Probe => ({
  name,
  language: 'python',
  code: (h) => `${PY_PRELUDE}\n${body(h)}\n`,
  ...extra,
});

const JS_PRELUDE = `
const hex = (s) => Array.from(String(s)).map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
const attempt = (label, fn) => { try { const r = fn(); console.log(label, 'GOT', hex(typeof r === 'string' ? r : JSON.stringify(r))); } catch (e) { console.log(label, 'refused:', String(e && e.message || e).slice(0, 200)); } };
const need = (m) => (typeof require === 'function' ? require(m) : (() => { throw new Error('no require'); })());
`;

export const js = (
  name: string,
  body: (h: ProbeHost) => string,
  extra: Partial<Probe> = {},
): Probe => ({
  name,
  language: 'javascript',
  code: (h) => `${JS_PRELUDE}\n${body(h)}\n`,
  ...extra,
});

export const q = (s: string | number): string => JSON.stringify(String(s));
