import type { Control } from '../../protocol/controls.js';
import { compact } from '../format.js';
import { h } from '../dom.js';
import { renderButton } from './button.js';
import type { ControlContext } from './context.js';
import { renderProcessCard } from './process-card.js';
import { renderTable } from './table.js';

export type { ControlContext } from './context.js';

/** Identity of a control within a turn: the same control announced twice renders once. */
export function controlKey(control: Control): string {
  return control.type === 'process' ? `process:${control.processId}` : JSON.stringify(control);
}

/** One renderer per control type. An unknown type (a newer runtime) shows as a notice. */
export function renderControl(control: Control, ctx: ControlContext): HTMLElement {
  switch (control.type) {
    case 'button':
      return renderButton(control, ctx);
    case 'table':
      return renderTable(control);
    case 'process':
      return renderProcessCard(control, ctx);
    default: {
      const unknown: never = control;
      return h('div', {
        class: 'cog-control-unknown',
        text: `Unsupported control: ${compact((unknown as { type?: unknown }).type, 40)}`,
      });
    }
  }
}
