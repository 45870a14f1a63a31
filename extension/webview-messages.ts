import { WebviewToHostSchema, type WebviewToHost } from '../protocol/webview.js';

export type Accepted = { ok: true; message: WebviewToHost } | { ok: false; reason: string };

/**
 * Checks one message from the webview. The webview renders model output, so its messages
 * are untrusted: anything not in `WebviewToHostSchema` (an unknown type, an extra field,
 * a command name) is refused. The reason names the shape only, never the message's text,
 * so it can be logged.
 */
export function acceptWebviewMessage(raw: unknown): Accepted {
  const parsed = WebviewToHostSchema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const rawType = (raw as { type?: unknown } | null)?.type;
  const type =
    raw !== null && typeof raw === 'object' && typeof rawType === 'string'
      ? JSON.stringify(rawType.slice(0, 40))
      : raw === null
        ? 'null'
        : typeof raw;
  const where = issue?.path.length ? issue.path.join('.') : 'message';
  return { ok: false, reason: `type ${type}, ${where}: ${issue?.code ?? 'invalid'}` };
}
