import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ChatController } from './chat-controller.js';
import { Emitter, type Logger } from './emitter.js';
import { renderWebviewHtml } from '../protocol/webview-html.js';
import { acceptWebviewMessage } from './webview-messages.js';

export const CHAT_VIEW_ID = 'cog.chat';

/**
 * The chat panel: a WebviewView whose HTML loads only the webview bundle (CSP with a
 * fresh nonce each time the HTML is produced). Everything the webview sends is untrusted
 * and validated against `WebviewToHostSchema`; what fails is logged (its shape, not its
 * text) and dropped. The webview can only express intents the controller implements;
 * it cannot name a command or a tool.
 */
export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly root: vscode.Uri;
  private readonly visibility = new Emitter<boolean>();
  /** The panel was shown or hidden (or closed: false). */
  readonly onDidChangeVisibility = this.visibility.event;

  constructor(
    extensionUri: vscode.Uri,
    private readonly controller: ChatController,
    private readonly log: Logger,
  ) {
    this.root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const { webview } = view;
    webview.options = { enableScripts: true, localResourceRoots: [this.root] };
    webview.html = this.render(webview);
    const attached = this.controller.attach((msg) => {
      // Posting to a hidden view is dropped by VS Code; its `ready` on re-show resumes.
      if (view.visible) void webview.postMessage(msg);
    });
    const received = webview.onDidReceiveMessage((raw: unknown) => this.receive(raw));
    const visibility = view.onDidChangeVisibility(() => {
      if (!view.visible) this.controller.viewHidden();
      this.visibility.fire(view.visible);
    });
    view.onDidDispose(() => {
      attached.dispose();
      received.dispose();
      visibility.dispose();
      if (this.view === view) this.view = undefined;
      this.visibility.fire(false);
    });
    this.visibility.fire(view.visible);
  }

  /** Whether the chat is on screen now, so a run's card can be seen and decided there. */
  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  dispose(): void {
    this.visibility.dispose();
  }

  /** Shows the view (it resolves on first show). */
  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }

  private render(webview: vscode.Webview): string {
    try {
      return renderWebviewHtml({
        cspSource: webview.cspSource,
        nonce: randomBytes(18).toString('base64url'),
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.root, 'main.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.root, 'main.css')).toString(),
      });
    } catch (err) {
      // No HTML, no chat: say so in the view and the log rather than leave it blank.
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(`cannot render the chat view (cspSource ${webview.cspSource}): ${message}`);
      return `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><p>Cog could not show its chat view. See the "Cog" output channel.</p></body></html>`;
    }
  }

  private receive(raw: unknown): void {
    const accepted = acceptWebviewMessage(raw);
    if (!accepted.ok) {
      this.log.warn(`dropped a message from the webview (${accepted.reason})`);
      return;
    }
    void this.controller.handle(accepted.message);
  }
}
