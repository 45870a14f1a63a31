import type { ProcessCardControl } from '../../protocol/controls.js';
import type { ProcessInfo, ProcessStatus } from '../../protocol/events.js';
import { isSandboxed, isolationText } from '../../protocol/isolation.js';
import { button, clear, h } from '../dom.js';
import { formatCount, formatMs } from '../format.js';
import { OUTPUT_CAP, type OutputChunk } from '../processes.js';
import type { ControlContext } from './context.js';

const STATUS_LABEL: Record<ProcessStatus, string> = {
  'pending-approval': 'awaiting approval',
  running: 'running',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
  'timed-out': 'timed out',
  denied: 'denied',
  interrupted: 'interrupted',
};

const time = (iso: string | undefined) => (iso ? Date.parse(iso) : NaN);

/**
 * A live view of one process: language, status, how it is contained, the code, elapsed time
 * (ticking while it runs), streamed output, and the decisions the user can take on it now.
 *
 * Approve and Deny here are the approval (VS Code's dialog stands in only while the panel
 * is hidden), so the card shows in plain sight what is being approved: the tier in words,
 * a warning when the code would not be sandboxed, and the code itself. Neither button takes
 * focus, so no stray Enter decides; an Approve carries the code and tier it was shown, and
 * the host runs it only if they are what it sent. The runtime's process id is not shown:
 * it means nothing to a person.
 */
export function renderProcessCard(control: ProcessCardControl, ctx: ControlContext): HTMLElement {
  const id = control.processId;
  const language = h('span', { class: 'proc-lang', text: '…' });
  const status = h('span', { class: 'proc-status', text: 'waiting for the runtime' });
  const isolation = h('div', { class: 'proc-isolation', attrs: { hidden: true } });
  const elapsed = h('span', {
    class: 'proc-elapsed',
    attrs: { role: 'timer', 'aria-label': 'elapsed time' },
  });
  const exit = h('span', { class: 'proc-exit' });
  const reason = h('div', { class: 'proc-reason', attrs: { hidden: true } });
  const code = h('code');
  const codeBlock = h(
    'details',
    { class: 'proc-code', attrs: { hidden: true } },
    h('summary', { text: 'Code' }),
    h('pre', {}, code),
  );
  const output = h('pre', {
    class: 'proc-output',
    attrs: { tabindex: 0, role: 'log', 'aria-label': 'Output', hidden: true },
  });
  const truncated = h('div', { class: 'proc-truncated', attrs: { hidden: true } });
  const actions = h('div', { class: 'proc-actions' });
  const card = h(
    'section',
    { class: 'cog-process', attrs: { 'data-process': id, 'aria-label': 'Code run' } },
    h(
      'div',
      { class: 'proc-head' },
      h('span', { class: 'proc-title', text: 'Process' }),
      language,
      status,
      elapsed,
      exit,
    ),
    isolation,
    reason,
    codeBlock,
    output,
    truncated,
    actions,
  );

  let info: ProcessInfo | undefined;
  let shownChars = 0;
  let ticking = false;

  const updateElapsed = (): boolean => {
    if (!info) return false;
    const start = time(info.startedAt);
    const end = info.endedAt ? time(info.endedAt) : info.status === 'running' ? Date.now() : NaN;
    elapsed.textContent = Number.isNaN(start) || Number.isNaN(end) ? '' : formatMs(end - start);
    return card.isConnected && info.status === 'running';
  };

  const decide = (decision: 'approve' | 'deny') => () => {
    if (!info) return;
    setBusy();
    // What this card showed: the host checks it against what it sent before approving.
    ctx.host.post({
      type: 'approve',
      process: id,
      decision,
      code: info.code,
      isolation: info.isolation,
    });
  };
  const setBusy = () => actions.querySelectorAll('button').forEach((b) => (b.disabled = true));

  const renderInfo = (next: ProcessInfo) => {
    info = next;
    card.dataset.status = next.status;
    language.textContent = next.language;
    card.dataset.isolation = next.isolation;
    const tier = isolationText(next.isolation);
    if (isolation.textContent !== tier) isolation.textContent = tier;
    isolation.classList.toggle('unsandboxed', !isSandboxed(next.isolation));
    isolation.hidden = false;
    status.textContent = STATUS_LABEL[next.status] ?? String(next.status);
    exit.textContent = next.exitCode === null ? '' : `exit ${next.exitCode}`;
    reason.textContent = next.reason ?? '';
    reason.hidden = !next.reason;
    code.textContent = next.code;
    codeBlock.hidden = !next.code;
    if (next.status === 'pending-approval') codeBlock.open = true;
    truncated.textContent = next.truncated
      ? `Output truncated: ${formatCount(next.outputBytes)} bytes produced.`
      : '';
    truncated.hidden = !next.truncated;
    clear(actions);
    if (next.status === 'pending-approval') {
      actions.append(
        button('Approve', decide('approve'), { class: 'proc-approve' }),
        button('Deny', decide('deny'), { secondary: true, class: 'proc-deny' }),
      );
    } else if (next.status === 'running') {
      actions.append(
        button(
          'Cancel',
          () => {
            setBusy();
            ctx.host.post({ type: 'cancelProcess', process: id });
          },
          { secondary: true, class: 'proc-cancel' },
        ),
      );
    }
    if (updateElapsed() && !ticking) {
      ticking = true;
      ctx.ticker.add(() => {
        ticking = updateElapsed();
        return ticking;
      });
    }
  };

  const appendChunk = (chunk: OutputChunk) => {
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
    const last = output.lastChild;
    if (chunk.stream === 'stdout' && last instanceof Text) last.appendData(chunk.text);
    else if (chunk.stream === 'stdout') output.append(chunk.text);
    else output.append(h('span', { class: 'stderr', text: chunk.text }));
    shownChars += chunk.text.length;
    output.hidden = false;
    if (atBottom) output.scrollTop = output.scrollHeight;
  };

  const renderOutput = () => {
    const state = ctx.processes.get(id);
    clear(output);
    shownChars = 0;
    if (state.trimmed) {
      output.append(h('span', { class: 'trimmed', text: '… earlier output not shown\n' }));
      output.hidden = false;
    }
    for (const chunk of state.output) appendChunk(chunk);
  };

  const initial = ctx.processes.get(id);
  if (initial.info) renderInfo(initial.info);
  renderOutput();

  const unsubscribe = ctx.processes.subscribe(id, (change) => {
    if (!card.isConnected && card.dataset.mounted) {
      unsubscribe();
      return;
    }
    if (change.kind === 'info') renderInfo(change.info);
    else if (shownChars + change.chunk.text.length > OUTPUT_CAP * 1.25) renderOutput();
    else appendChunk(change.chunk);
  });
  // The card is built before it is attached; after that, detached means gone.
  queueMicrotask(() => (card.dataset.mounted = '1'));
  return card;
}
