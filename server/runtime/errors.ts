/** Runtime errors the surfaces turn into user-facing messages. Check `code`, not instanceof. */
export type RuntimeErrorCode =
  | 'session_not_found'
  | 'session_exists'
  | 'invalid_session_id'
  | 'process_not_found'
  | 'process_not_pending'
  | 'invalid_input'
  | 'runtime_closed'
  | 'session_busy'
  | 'session_moved'
  | 'process_elsewhere'
  | 'turn_cancelled'
  | 'rate_limited'
  | 'home_locked';

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isCoded(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
