import type { ConnectionStatus } from '../../protocol/webview.js';
import { button, h } from '../dom.js';
import type { Host } from '../host.js';

const CONNECTION_TEXT: Record<ConnectionStatus, string> = {
  starting: 'Starting the Cog runtime…',
  connected: 'Connected.',
  reconnecting: 'Connection lost: reconnecting…',
  error: 'Cannot reach the Cog runtime.',
  stopped: 'The Cog runtime is stopped.',
};

/** How long an info notice stays before it dismisses itself. */
const INFO_MS = 10_000;
const MAX_NOTICES = 5;

/** The connection banner (hidden while connected) and dismissible notices. */
export class Banners {
  readonly el = h('div', { class: 'banners' });
  private readonly connection = h('div', {
    class: 'banner connection',
    attrs: { role: 'status', hidden: true },
  });
  private readonly notices = h('div', { class: 'notices' });

  constructor() {
    this.el.append(this.connection, this.notices);
  }

  setConnection(status: ConnectionStatus, detail?: string): void {
    this.connection.dataset.status = status;
    const text = CONNECTION_TEXT[status] ?? String(status);
    this.connection.textContent = detail ? `${text} ${detail}` : text;
    this.connection.hidden = status === 'connected';
  }

  notice(level: 'info' | 'error', message: string): void {
    const text = h('span', { class: 'notice-text', text: message });
    const el = h('div', {
      class: `banner notice ${level === 'error' ? 'error' : 'info'}`,
      attrs: { role: level === 'error' ? 'alert' : 'status' },
    });
    el.append(
      text,
      button('Dismiss', () => el.remove(), { secondary: true, class: 'dismiss', title: 'Dismiss' }),
    );
    this.notices.append(el);
    while (this.notices.childElementCount > MAX_NOTICES) this.notices.firstElementChild?.remove();
    if (level === 'info') setTimeout(() => el.remove(), INFO_MS);
  }
}

/**
 * The first-run offer: no model is configured, so replies come from the offline engine.
 * Shown while the host says so; its buttons only post intents, and the host decides.
 */
export class SetupBanner {
  readonly el = h('div', {
    class: 'banner setup',
    attrs: { role: 'region', 'aria-label': 'Choose a model', hidden: true },
  });

  constructor(host: Host) {
    this.el.append(
      h('span', {
        class: 'notice-text',
        text: 'No model is configured: Cog answers from its offline engine. Choose a model to talk to a real one.',
      }),
      button('Choose a Model', () => host.post({ type: 'chooseModel' }), { class: 'choose-model' }),
      button(
        'Dismiss',
        () => {
          this.el.hidden = true;
          host.post({ type: 'dismissChooseModel' });
        },
        { secondary: true, class: 'dismiss', title: 'Do not offer this again' },
      ),
    );
  }

  show(offer: boolean): void {
    this.el.hidden = !offer;
  }
}
