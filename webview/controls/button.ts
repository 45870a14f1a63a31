import type { ButtonControl } from '../../protocol/controls.js';
import { button } from '../dom.js';
import type { ControlContext } from './context.js';

/** A click sends the control's action back into the session, with its data as given. */
export function renderButton(control: ButtonControl, ctx: ControlContext): HTMLElement {
  return button(
    control.label,
    () =>
      ctx.host.post({
        type: 'action',
        action: control.action,
        ...(control.data ? { data: control.data } : {}),
      }),
    { class: 'cog-control-button', title: `Action: ${control.action}` },
  );
}
