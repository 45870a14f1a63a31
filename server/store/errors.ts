export type StoreErrorCode =
  | 'store_invalid_session' // a session id that could name a path outside the store
  | 'store_unserializable' // an appended event JSON.stringify could not encode
  | 'store_write_failed' // a write or fsync failed; the events stay buffered for a retry
  | 'store_quarantine_failed' // a bad line could not be copied aside; the next load retries
  | 'store_closed'; // append after close()

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
