import { NODE_NAMES, type NodeName } from '../../protocol/names.js';
import { h } from '../dom.js';
import { formatCount, formatMs } from '../format.js';

export type NodeStatus = 'idle' | 'thinking' | 'streaming' | 'done' | 'error';

const LABEL: Record<NodeName, string> = {
  input: 'Input',
  thinker: 'Thinker',
  output: 'Output',
  memorizer: 'Memorizer',
};

interface NodeView {
  el: HTMLElement;
  state: HTMLElement;
  gauge: HTMLElement;
  fill: HTMLElement;
  tokens: HTMLElement;
  latency: HTMLElement;
}

/**
 * Input · Thinker · Output · Memorizer, each lit by its status in the current turn, with
 * its context gauge (tokens of budget) and its last latency.
 */
export class PipelineStrip {
  readonly el = h('ol', { class: 'pipeline', attrs: { 'aria-label': 'Pipeline nodes' } });
  private readonly nodes = {} as Record<NodeName, NodeView>;

  constructor() {
    for (const name of NODE_NAMES) {
      const state = h('span', { class: 'node-state', text: 'idle' });
      const fill = h('div', { class: 'gauge-fill' });
      const gauge = h(
        'div',
        {
          class: 'gauge',
          attrs: {
            role: 'meter',
            'aria-label': `${LABEL[name]} context`,
            'aria-valuemin': 0,
            'aria-valuemax': 100,
            'aria-valuenow': 0,
          },
        },
        fill,
      );
      const tokens = h('span', { class: 'tokens', title: 'context tokens / budget' });
      const latency = h('span', { class: 'latency', title: 'last latency' });
      const el = h(
        'li',
        { class: 'node', attrs: { 'data-node': name, 'data-status': 'idle' } },
        h(
          'div',
          { class: 'node-head' },
          h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }),
          h('span', { class: 'node-name', text: LABEL[name] }),
        ),
        state,
        gauge,
        h('div', { class: 'node-stats' }, tokens, latency),
      );
      this.nodes[name] = { el, state, gauge, fill, tokens, latency };
      this.el.append(el);
    }
  }

  status(node: NodeName, status: NodeStatus, detail?: string): void {
    const v = this.nodes[node];
    v.el.dataset.status = status;
    v.state.textContent = status;
    if (detail !== undefined) v.el.title = `${LABEL[node]}: ${detail}`;
  }

  statusOf(node: NodeName): NodeStatus {
    return (this.nodes[node].el.dataset.status ?? 'idle') as NodeStatus;
  }

  detail(node: NodeName, detail: string): void {
    this.nodes[node].el.title = `${LABEL[node]}: ${detail}`;
  }

  context(
    node: NodeName,
    tokens: number,
    budget: number,
    fillPct: number,
    trimmed: number,
    reported?: { promptTokens: number; cachedTokens?: number },
    /** Of `tokens`, the editor context attached to the message. */
    attached?: number,
  ): void {
    const v = this.nodes[node];
    if (attached) v.gauge.dataset.attached = String(attached);
    else delete v.gauge.dataset.attached;
    const pct = Math.max(0, Math.min(100, Number.isFinite(fillPct) ? fillPct : 0));
    v.fill.style.width = `${pct}%`;
    v.gauge.setAttribute('aria-valuenow', String(Math.round(pct)));
    v.gauge.classList.toggle('high', pct >= 90);
    v.tokens.textContent = `${formatCount(tokens)} / ${formatCount(budget)}${
      attached ? ` · ${formatCount(attached)} attached` : ''
    }`;
    v.gauge.title = `${formatCount(tokens)} of ${formatCount(budget)} tokens (${Math.round(pct)}%)${
      attached ? `, ${formatCount(attached)} of them attached from the editor` : ''
    }${trimmed ? `, ${trimmed} message${trimmed === 1 ? '' : 's'} trimmed` : ''}${
      reported
        ? `; the provider counted ${formatCount(reported.promptTokens)}${
            reported.cachedTokens ? ` (${formatCount(reported.cachedTokens)} cached)` : ''
          }`
        : ''
    }`;
  }

  /** The node's last latency; a wait for approval is not in it, and the title says so. */
  latency(node: NodeName, ms: number, model: string, approvalWaitMs?: number): void {
    const v = this.nodes[node];
    v.latency.textContent = formatMs(ms);
    v.latency.title = `last latency, model ${model}${
      approvalWaitMs ? `, not counting ${formatMs(approvalWaitMs)} waiting for approval` : ''
    }`;
  }

  /** A new turn: statuses go dark; gauges and latencies keep their last values. */
  resetStatus(nodes: readonly NodeName[] = NODE_NAMES): void {
    for (const n of nodes) this.status(n, 'idle');
  }

  reset(): void {
    for (const name of NODE_NAMES) {
      const v = this.nodes[name];
      this.status(name, 'idle');
      v.el.removeAttribute('title');
      v.fill.style.width = '0%';
      v.gauge.setAttribute('aria-valuenow', '0');
      v.gauge.classList.remove('high');
      v.tokens.textContent = '';
      v.latency.textContent = '';
    }
  }
}
