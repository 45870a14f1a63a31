import { NODE_NAMES, type ApprovalPolicy } from '../../protocol/names.js';
import type { ModelInfo } from '../../protocol/events.js';
import type { SessionSummary } from '../../protocol/results.js';
import type { Host } from '../host.js';
import { button, h } from '../dom.js';

/** The top bar: session picker, new and clear, and where replies come from. */
export class SessionBar {
  readonly el: HTMLElement;
  private readonly select = h('select', {
    class: 'session-select',
    attrs: { 'aria-label': 'Session' },
  });
  private readonly model = h('span', { class: 'model-badge', attrs: { hidden: true } });
  private readonly approval = h('span', { class: 'approval-badge', attrs: { hidden: true } });
  private sessions: SessionSummary[] = [];
  private current: string | undefined;
  // The host asks for the new title or the confirmation; these only say which session.
  private readonly rename: HTMLButtonElement;
  private readonly remove: HTMLButtonElement;

  constructor(host: Host) {
    const ask = (type: 'renameSession' | 'deleteSession') => () => {
      if (this.current) host.post({ type, session: this.current });
    };
    this.rename = button('Rename', ask('renameSession'), {
      secondary: true,
      class: 'rename-session',
      title: 'Rename this session',
    });
    this.remove = button('Delete', ask('deleteSession'), {
      secondary: true,
      class: 'delete-session',
      title: 'Delete this session for good',
    });
    this.select.addEventListener('change', () => {
      const id = this.select.value;
      if (id && id !== this.current) host.post({ type: 'switchSession', session: id });
    });
    this.el = h(
      'header',
      { class: 'topbar' },
      this.select,
      button('New', () => host.post({ type: 'newSession' }), {
        secondary: true,
        class: 'new-session',
        title: 'Start a new session',
      }),
      button('Clear', () => host.post({ type: 'clear' }), {
        secondary: true,
        class: 'clear-session',
        title: 'Clear this conversation',
      }),
      this.rename,
      this.remove,
      h('span', { class: 'spacer' }),
      this.approval,
      this.model,
    );
  }

  setSessions(sessions: readonly SessionSummary[]): void {
    this.sessions = [...sessions];
    this.render();
  }

  setCurrent(session: string): void {
    this.current = session;
    this.render();
  }

  setModel(model: ModelInfo): void {
    this.model.hidden = false;
    this.model.classList.toggle('offline', model.offline);
    if (model.offline) {
      this.model.textContent = 'Offline engine';
      this.model.title =
        'No model is configured: replies come from the offline engine (deterministic, no network). ' +
        'Set an API key or a base URL to use a real model.';
    } else {
      this.model.textContent = model.models?.thinker ?? 'model';
      this.model.title = [
        ...(model.baseUrl ? [model.baseUrl] : []),
        ...NODE_NAMES.map((n) => `${n}: ${model.models?.[n] ?? '?'}`),
      ].join('\n');
    }
  }

  setApproval(policy: ApprovalPolicy): void {
    this.approval.hidden = false;
    this.approval.textContent = `approval: ${policy}`;
    this.approval.title = 'How code runs are approved (set in the Cog settings)';
  }

  private render(): void {
    const items = [...this.sessions];
    if (this.current && !items.some((s) => s.id === this.current)) {
      items.unshift({ id: this.current, createdAt: '', turns: 0, lastSeq: 0, busy: false });
    }
    // Long titles end in an ellipsis (CSS); the title attribute carries all of it.
    const full = (s: SessionSummary) =>
      `${s.title || `Session ${s.id}`}\n${s.createdAt ? `${s.id}, started ${s.createdAt}` : s.id}`;
    this.select.replaceChildren(
      ...items.map((s) => {
        const label = `${s.title || `Session ${s.id}`}${s.turns ? ` · ${s.turns} turn${s.turns === 1 ? '' : 's'}` : ''}`;
        return h('option', { text: label, title: full(s), attrs: { value: s.id } });
      }),
    );
    if (this.current) this.select.value = this.current;
    const shown = items.find((s) => s.id === this.current);
    this.select.title = shown ? full(shown) : '';
    this.select.disabled = items.length === 0;
    this.rename.disabled = !shown;
    this.remove.disabled = !shown;
  }
}
