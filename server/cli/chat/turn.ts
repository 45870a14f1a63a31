import type { TurnResult } from '../../../protocol/results.js';
import type { Runtime } from '../../runtime/runtime.js';
import { renderTable } from './format.js';

/** Sends a line to the session: `/action NAME [JSON]` presses a button, anything else is a message. */
export async function sendLine(
  runtime: Runtime,
  session: string,
  owner: string,
  text: string,
): Promise<TurnResult> {
  const action = /^\/action\s+(\S+)\s*(.*)$/.exec(text);
  if (!action) return runtime.send(session, owner, text, { channel: 'terminal' });
  let data: Record<string, unknown> | undefined;
  if (action[2]) {
    try {
      data = JSON.parse(action[2]) as Record<string, unknown>;
    } catch {
      throw new Error(`/action ${action[1]}: the data is not JSON: ${action[2]}`);
    }
  }
  return runtime.action(
    session,
    owner,
    { action: action[1], ...(data ? { data } : {}) },
    { channel: 'terminal' },
  );
}

/** The controls of a reply, as text: tables drawn, buttons with how to press them. */
export function controlsText(result: TurnResult): string {
  const out: string[] = [];
  for (const c of result.controls) {
    if (c.type === 'table')
      out.push(`${c.title ? `${c.title}\n` : ''}${renderTable(c.columns, c.rows)}`);
    if (c.type === 'button') out.push(`[${c.label}]  (type /action ${c.action} to press it)`);
  }
  return out.join('\n');
}

/** Why a turn did not end well, in words; undefined when it did. */
export function failureOf(result: TurnResult): string | undefined {
  if (result.status === 'ok') return undefined;
  return result.error ?? result.status;
}
