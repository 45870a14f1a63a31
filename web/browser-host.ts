import { ChatController } from '../extension/chat-controller.js';
import type { Logger } from '../extension/emitter.js';
import { RuntimeConnection } from '../extension/runtime-connection.js';
import { acceptWebviewMessage } from '../extension/webview-messages.js';
import type { HostToWebview } from '../protocol/webview.js';
import type { Host } from '../webview/host.js';
import { fetchMe, type Me } from './me.js';
import { browserSessionPrompts } from './session-prompts.js';

const VERSION = '0.1.0';

const log: Logger = {
  trace: () => {},
  debug: () => {},
  info: (m) => console.info(`cog: ${m}`),
  warn: (m) => console.warn(`cog: ${m}`),
  error: (m) => console.error(`cog: ${m}`),
};

/**
 * The chat panel's host in a browser tab: the same ChatController and RuntimeConnection as
 * in VS Code, in the page, talking MCP over Streamable HTTP to the `cog serve` that served
 * it. The browser's session cookie (HttpOnly, SameSite=Strict) goes along with each request;
 * the page never holds a token. What the panel sends is validated as in VS Code.
 */
export function browserHost(me: Me): Host {
  const key = (what: string) => `cog.${what}:${me.principal}`;
  const connection = new RuntimeConnection({
    log,
    clientVersion: VERSION,
    async launch() {
      // Signed out (elsewhere, or the session ended): the server shows its sign-in page.
      if (!(await fetchMe())) {
        location.assign('/');
        throw new Error('signed out');
      }
      return {
        url: new URL('/mcp', location.href),
        label: `Cog at ${location.host}`,
        clientInfo: { name: 'cog-browser', title: 'Cog in a browser' },
      };
    },
  });
  const controller = new ChatController({
    connection,
    log,
    memory: {
      get: () => localStorage.getItem(key('session')) ?? undefined,
      set: (session) =>
        session === undefined
          ? localStorage.removeItem(key('session'))
          : localStorage.setItem(key('session'), session),
    },
    approval: () => me.approval,
    // A browser tab has no editor: Copy works, Insert and New File say where they do.
    async codeAction(msg) {
      if (msg.action !== 'copy') return 'Insert and New File work in VS Code; Copy works here.';
      try {
        await navigator.clipboard.writeText(msg.code);
      } catch {
        return 'The browser did not allow copying: select the text and copy it instead.';
      }
      return undefined;
    },
    prompts: browserSessionPrompts,
  });
  const listeners: ((message: unknown) => void)[] = [];
  controller.attach((msg: HostToWebview) => {
    // A copy, as postMessage would make: the panel and the controller share no objects.
    const copy = structuredClone(msg);
    for (const l of listeners) l(copy);
  });
  addEventListener('pagehide', () => controller.dispose());
  connection.start();
  return {
    post(message) {
      const accepted = acceptWebviewMessage(message);
      if (!accepted.ok) return log.warn(`dropped a message from the panel (${accepted.reason})`);
      void controller.handle(accepted.message);
    },
    getState: () => JSON.parse(sessionStorage.getItem(key('panel')) ?? 'null') as unknown,
    setState: (state) => sessionStorage.setItem(key('panel'), JSON.stringify(state)),
    onMessage: (listener) => listeners.push(listener),
  };
}
