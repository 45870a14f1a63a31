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

/** The webview's only way out: intents to the host, typed by the protocol. */
export interface Host {
  post(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export function connectHost(api: VsCodeApi = acquireVsCodeApi()): Host {
  return {
    post: (message) => api.postMessage(message),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}
