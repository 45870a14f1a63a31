import type { RuntimeEvent } from '../../protocol/events.js';
import { NODE_NAMES, type NodeName } from '../../protocol/names.js';
import { h } from '../dom.js';
import { MemoryPanel } from './memory-panel.js';
import { PipelineStrip } from './pipeline-strip.js';
import { SensorPanel } from './sensor-panel.js';
import { TraceDrawer } from './trace-drawer.js';

const isNode = (n: string): n is NodeName => (NODE_NAMES as readonly string[]).includes(n);

/**
 * What each node is doing. Statuses follow the current turn; the memorizer runs after
 * its turn has ended (off the critical path), so its events count whenever they come.
 */
export class Hud {
  readonly strip = new PipelineStrip();
  readonly sensors = new SensorPanel();
  readonly memory = new MemoryPanel();
  readonly trace = new TraceDrawer();
  readonly el: HTMLElement;
  private currentTurn: string | undefined;

  constructor() {
    this.el = h(
      'section',
      { class: 'hud', attrs: { 'aria-label': 'Pipeline status' } },
      this.strip.el,
      h(
        'details',
        { class: 'hud-state' },
        h('summary', { text: 'State' }),
        // It scrolls when full: focusable, so the keyboard reaches its last row too.
        h(
          'div',
          { class: 'hud-panels', attrs: { tabindex: 0, role: 'region', 'aria-label': 'State' } },
          this.sensors.el,
          this.memory.el,
        ),
      ),
      this.trace.el,
    );
  }

  reset(): void {
    this.currentTurn = undefined;
    this.strip.reset();
    this.sensors.reset();
    this.memory.reset();
    this.trace.reset();
  }

  apply(e: RuntimeEvent): void {
    this.trace.add(e);
    if (e.type === 'turn.started') {
      this.currentTurn = e.turn;
      // A memorizer still distilling the previous turn stays lit.
      const memorizing = this.strip.statusOf('memorizer') === 'thinking';
      this.strip.resetStatus(memorizing ? ['input', 'thinker', 'output'] : NODE_NAMES);
      return;
    }
    if (e.type === 'memory.updated') return this.memory.update(e.state, e.version, e.changes ?? []);
    if (e.type === 'sensor.tick') return this.sensors.update(e.readings, e.deltas);
    const node = String(e.node);
    if (!isNode(node)) return;
    if (node !== 'memorizer' && this.currentTurn !== undefined && e.turn !== this.currentTurn)
      return;
    switch (e.type) {
      case 'node.thinking':
        return this.strip.status(node, 'thinking', e.detail);
      case 'node.streaming':
        return this.strip.status(node, 'streaming');
      case 'node.done':
        this.strip.status(node, 'done');
        return this.strip.latency(node, e.ms, e.model, e.approvalWaitMs);
      case 'node.error':
        return this.strip.status(node, 'error', `${e.code}: ${e.message}`);
      case 'node.context':
        return this.strip.context(
          node,
          e.tokens,
          e.budget,
          e.fillPct,
          e.trimmed,
          e.usage,
          e.attachedTokens,
        );
      case 'node.perceived':
        return this.strip.detail(node, e.perception);
      case 'node.decided':
        return this.strip.detail(node, `${e.decision}: ${e.summary}`);
      default:
        return;
    }
  }
}
