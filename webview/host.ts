import type { WebviewToHost } from '../protocol/webview.js';

/** What VS Code injects into a webview (and the test harness fakes). */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  /** Callable once per page load. */
  function acquireVsCodeApi(): VsCodeApi;
}

/**
 * The webview's only way out: intents to the host, typed by the protocol; and its only
 * way in, the host's messages (unchecked: the app reads them defensively).
 */
export interface Host {
  post(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** VS Code's host: its messages arrive as `message` events on the window. */
export function connectHost(api: VsCodeApi = acquireVsCodeApi()): Host {
  return {
    post: (message) => api.postMessage(message),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
    onMessage: (listener) => addEventListener('message', (ev: MessageEvent) => listener(ev.data)),
  };
}
