import { ISOLATIONS, describeIsolation, type Isolation } from './names.js';

// Apart from protocol/webview.ts because the webview imports this, and its bundle carries
// no validator (zod probes for eval, which the webview's CSP refuses).

const SANDBOXED: ReadonlySet<string> = new Set<Isolation>(['bubblewrap', 'namespaces', 'wasm']);

function known(isolation: string): isolation is Isolation {
  return (ISOLATIONS as readonly string[]).includes(isolation);
}

/**
 * The tier in words (`describeIsolation`), for a tier as a runtime reported it: one this
 * build does not know (an older or newer runtime) is not called sandboxed.
 */
export function isolationText(isolation: string): string {
  return known(isolation)
    ? describeIsolation(isolation)
    : `not known to be sandboxed (${isolation.slice(0, 40)})`;
}

/** Whether a tier contains the code; `none`, or one this build does not know, does not. */
export function isSandboxed(isolation: string): boolean {
  return SANDBOXED.has(isolation);
}
