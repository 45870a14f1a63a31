/** What went wrong when the process manager refuses a request. */
export type ProcessErrorCode =
  | 'process_not_found' // no process with that id
  | 'process_not_pending' // approve() on a process that is not waiting for approval
  | 'approval_mismatch' // approve() without the shown code's hash, or with another's
  | 'manager_closed'; // run() after close()

/** Errors cross bundles (esbuild renames classes): check `code`, not `instanceof`. */
export class ProcessError extends Error {
  override readonly name = 'ProcessError';
  constructor(
    readonly code: ProcessErrorCode,
    message: string,
  ) {
    super(message);
  }
}
