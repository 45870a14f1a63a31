import type { RuntimeEvent } from '../protocol/events.js';
import type { HostToWebview, SnapshotBase } from '../protocol/webview.js';
import { ChatView } from './chat/chat-view.js';
import { AttachmentChips } from './chat/chips.js';
import { Composer } from './chat/composer.js';
import { EventLog } from './event-log.js';
import type { Host } from './host.js';
import { Hud } from './hud/hud.js';
import { createSaver, readPersisted } from './persist.js';
import { ProcessRegistry } from './processes.js';
import { Banners, SetupBanner } from './shell/banners.js';
import { SessionBar } from './shell/session-bar.js';
import { Ticker } from './ticker.js';

const STREAMS = new Set<RuntimeEvent['type']>(['output.delta', 'process.output', 'sensor.tick']);

type Snapshot = Extract<HostToWebview, { type: 'snapshot' }>;
type Events = Extract<HostToWebview, { type: 'events' }>;

/**
 * The chat panel. The host owns the state: this renders what it is sent and sends back
 * intents. Handshake: on load, replay what was saved, then post `ready` with the session
 * and the last seq held; the host answers with a snapshot (resumed: only what came after).
 * `events` that arrive before that snapshot wait for it, so none is applied out of turn.
 */
export function createApp(root: HTMLElement, host: Host): void {
  const saved = readPersisted(host.getState());
  const log = new EventLog(saved.session, saved.lastSeq, saved.events);
  const processes = new ProcessRegistry();
  const ctx = { host, processes, ticker: new Ticker() };

  const bar = new SessionBar(host);
  const banners = new Banners();
  const setup = new SetupBanner(host);
  const hud = new Hud();
  const chat = new ChatView(ctx, () => saver.schedule(), {
    copy: (text) => host.post({ type: 'codeAction', action: 'copy', code: text }),
    retry: (text) => sendText(text),
    edit: (text) => composer.edit(text),
  });
  const composer = new Composer({
    send: (text) => sendText(text),
    cancel: cancelTurn,
    draftChanged: () => saver.schedule(),
    pick: (trigger) => host.post({ type: 'attachPick', trigger }),
  });
  const chips = new AttachmentChips((id) => host.post({ type: 'attachRemove', id }));
  composer.el.prepend(chips.el);
  /** What the snapshot the log began with sent besides its events (a page's). */
  let base = saved.base;
  const saver = createSaver(host, () => {
    log.compact();
    return {
      v: 1,
      ...(log.session ? { session: log.session } : {}),
      lastSeq: log.lastSeq,
      events: log.events,
      ...(base ? { base } : {}),
      draft: composer.draft,
      scroll: chat.scrollPosition(),
    };
  });
  root.replaceChildren(bar.el, banners.el, setup.el, hud.el, chat.el, composer.el);

  let synced = false;
  const waiting: Events[] = [];

  function sendText(text: string): void {
    host.post({ type: 'send', text });
    chat.addPending(text);
    refreshRunning();
  }

  function cancelTurn(): void {
    host.post({ type: 'cancelTurn' });
  }

  function refreshRunning(): void {
    composer.setRunning(chat.running);
  }

  /**
   * Starts the views from a page's base, before its events: those are newer, so what
   * they say about a run or the memory overrides it.
   */
  function applyBase(b: SnapshotBase | undefined): void {
    chat.setEarlier(b?.earlier === true);
    for (const p of b?.processes ?? []) processes.seed(p);
    if (b?.memory) hud.memory.update(b.memory.state, b.memory.version, []);
  }

  /** Renders events already in the log (a reload) or just accepted into it. */
  function render(events: readonly RuntimeEvent[]): void {
    const run = () => {
      for (const e of events) {
        processes.apply(e);
        hud.apply(e);
        chat.apply(e);
      }
    };
    if (events.length > 1) chat.batch(run);
    else run();
    refreshRunning();
    document.body.dataset.seq = String(log.lastSeq);
  }

  function receive(events: readonly RuntimeEvent[]): void {
    const fresh = log.accept(events);
    if (!fresh.length) return;
    render(fresh);
    // Streams (deltas, process output, sensor ticks) do not schedule a save on their own:
    // a reload mid-stream just asks the host for them again, and a frame is not spent on
    // serialising the whole log a few times a second while a reply streams.
    if (fresh.some((e) => !STREAMS.has(e.type))) saver.schedule();
  }

  function onSnapshot(msg: Snapshot): void {
    const continues = msg.resumed && log.session === msg.session;
    if (!continues) {
      const sameSession = log.session === msg.session;
      log.reset(msg.session);
      processes.reset();
      hud.reset();
      chat.reset(sameSession);
      base = msg.base;
      applyBase(base);
    }
    bar.setCurrent(msg.session);
    bar.setSessions(msg.sessions ?? []);
    if (msg.model) bar.setModel(msg.model);
    if (msg.approval) bar.setApproval(msg.approval);
    document.body.dataset.session = msg.session;
    receive(msg.events ?? []);
    synced = true;
    for (const queued of waiting.splice(0)) onEvents(queued);
    saver.schedule();
  }

  function onEvents(msg: Events): void {
    if (!synced) {
      waiting.push(msg);
      return;
    }
    if (msg.session !== log.session) return;
    receive(msg.events ?? []);
  }

  function handle(msg: HostToWebview): void {
    switch (msg.type) {
      case 'snapshot':
        return onSnapshot(msg);
      case 'events':
        return onEvents(msg);
      case 'connection':
        banners.setConnection(msg.status, msg.detail);
        if (msg.model) bar.setModel(msg.model);
        return;
      case 'sessions':
        return bar.setSessions(msg.sessions ?? []);
      case 'setup':
        return setup.show(msg.chooseModel === true);
      case 'notice': {
        banners.notice(msg.level, msg.message);
        if (msg.level === 'error') {
          // A send that failed must not vanish: it goes back into an empty composer.
          const unsent = chat.dropPending();
          if (unsent.length && !composer.draft.trim()) composer.draft = unsent.join('\n\n');
          refreshRunning();
        }
        return;
      }
      case 'attachments':
        return chips.set(msg.items ?? []);
      default: {
        const unknown: never = msg;
        console.warn('cog: unknown message from the host', unknown);
      }
    }
  }

  host.onMessage((msg) => {
    if (
      typeof msg !== 'object' ||
      msg === null ||
      typeof (msg as { type?: unknown }).type !== 'string'
    )
      return;
    try {
      handle(msg as HostToWebview);
    } catch (err) {
      console.error('cog: could not render a host message', err);
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && chat.running) {
      ev.preventDefault();
      cancelTurn();
    }
  });

  if (log.session) {
    bar.setCurrent(log.session);
    document.body.dataset.session = log.session;
    applyBase(base);
    render(log.events);
  }
  composer.draft = saved.draft;
  chat.restoreScroll(saved.scroll);
  host.post({
    type: 'ready',
    ...(log.session ? { session: log.session, lastSeq: log.lastSeq } : {}),
  });
}
