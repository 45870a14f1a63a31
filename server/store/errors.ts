export type StoreErrorCode =
  | 'store_invalid_session' // a session id that could name a path outside the store
  | 'store_unserializable' // an appended event JSON.stringify could not encode
  | 'store_out_of_order' // an event whose seq is not the session's next
  | 'store_disk_full' // no space left: nothing of the event was kept
  | 'store_write_failed' // a write or fsync failed: nothing of the event was kept
  | 'store_exists' // a session created twice
  | 'store_not_found' // a session the store does not have
  | 'store_closed'; // use after close()

/** Errors cross bundles: check `code`, not `instanceof`. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A write that failed, as the error the caller reports: "disk full" when it is. */
export function writeError(err: unknown, what: string): StoreError {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new StoreError(
        'store_disk_full',
        `The disk is full: could not save ${what}. Free some space; nothing was lost of what was already shown.`,
        { cause: err },
      );
    }
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new StoreError('store_write_failed', `Could not save ${what}: ${reason}`, { cause: err });
}
