import './jitless.js';
import '../webview/styles/main.css';
import './web.css';
import { createApp } from '../webview/app.js';
import { button, h } from '../webview/dom.js';
import { browserHost } from './browser-host.js';
import { fetchMe, signOut, type Me } from './me.js';

/** Who is signed in, and the way out: a bar above the panel. */
function accountBar(me: Me): HTMLElement {
  const who = me.name ? (me.email ? `${me.name} <${me.email}>` : me.name) : me.principal;
  return h(
    'header',
    { class: 'web-bar' },
    h('span', { class: 'web-title', text: 'Cog' }),
    h('span', { class: 'web-who', text: `signed in as ${who}`, title: me.principal }),
    button('Sign out', () => void signOut(), { secondary: true, class: 'web-sign-out' }),
  );
}

async function main(): Promise<void> {
  const me = await fetchMe();
  if (!me) {
    location.assign('/');
    return;
  }
  const root = document.getElementById('app') ?? document.body;
  document.body.classList.add(
    matchMedia('(prefers-color-scheme: light)').matches ? 'vscode-light' : 'vscode-dark',
  );
  document.body.insertBefore(accountBar(me), root);
  createApp(root, browserHost(me));
}

void main();
