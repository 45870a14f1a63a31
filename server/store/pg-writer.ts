import type pg from 'pg';
import type { RuntimeEvent } from '../../protocol/events.js';
import { StoreError } from './errors.js';

// The PostgreSQL store's write path (pg-store.ts): a queue per open session, drained one
// multi-row INSERT at a time, each moving last_seq under the lease epoch (fencing).

/** Events one INSERT carries at most: a burst of output deltas goes in a few statements. */
const BATCH = 500;

/** What kind of mark an event leaves for `messages`: see cog_events.kind. */
export function kindOf(type: RuntimeEvent['type']): number {
  if (type === 'user.message' || type === 'assistant.message') return 1;
  if (type === 'session.cleared') return 2;
  return 0;
}

export interface Pending {
  event: RuntimeEvent;
  body: string;
  resolve: () => void;
  reject: (err: StoreError) => void;
}

/** A session open for appends on this instance. */
export interface OpenLog {
  key: string;
  /** The last seq handed to append (durable or on its way). */
  lastSeq: number;
  /** The last seq PostgreSQL has committed. */
  durableSeq: number;
  /** The lease epoch this instance writes under; a write under an older one is refused. */
  epoch: number;
  queue: Pending[];
  /** The statement in flight, if any; `idle` resolves when the queue is empty. */
  writing: Promise<void> | undefined;
  /** Set by a write that failed: the session must be opened again before more appends. */
  failed: StoreError | undefined;
}

/** A session just opened (or created) here: nothing queued, everything committed. */
export function newLog(key: string, lastSeq: number, epoch: number): OpenLog {
  return {
    key,
    lastSeq,
    durableSeq: lastSeq,
    epoch,
    queue: [],
    writing: undefined,
    failed: undefined,
  };
}

/**
 * The drain of one store: `drain(log)` writes what is queued for `log` until its queue
 * is empty (one statement in flight per session), resolving or rejecting each append.
 */
export function createWriter(pool: pg.Pool): (log: OpenLog) => Promise<void> {
  /** Writes what is queued for one session, a batch at a time, until the queue is empty. */
  function drain(log: OpenLog): Promise<void> {
    log.writing ??= (async () => {
      while (log.queue.length) {
        const batch = log.queue.splice(0, BATCH);
        const failure = log.failed ?? (await writeBatch(log, batch));
        if (failure) {
          log.failed = failure;
          // Nothing after the failure was shown: it is dropped, and its seqs are free again.
          const dropped = [...batch, ...log.queue.splice(0)];
          log.lastSeq = log.durableSeq;
          for (const p of dropped) p.reject(failure);
        } else {
          log.durableSeq = batch[batch.length - 1]?.event.seq ?? log.durableSeq;
          for (const p of batch) p.resolve();
        }
      }
      log.writing = undefined;
    })();
    return log.writing;
  }

  async function writeBatch(log: OpenLog, batch: Pending[]): Promise<StoreError | undefined> {
    const seqs = batch.map((p) => p.event.seq);
    const first = seqs[0] ?? 0;
    const last = seqs[seqs.length - 1] ?? 0;
    // A new title commits with its event: the listing and the log never disagree.
    const titled = batch.findLast((p) => p.event.type === 'session.titled')?.event;
    const title = titled?.type === 'session.titled' ? titled : undefined;
    try {
      const r = await pool.query(
        `WITH moved AS (
           UPDATE cog_sessions SET last_seq = $5,
                  title = coalesce($8, title),
                  title_source = CASE WHEN $8::text IS NULL THEN title_source ELSE $9 END
            WHERE key = $1 AND last_seq = $6 AND lease_epoch = $7
           RETURNING key)
         INSERT INTO cog_events (session_key, seq, kind, body)
         SELECT moved.key, e.seq, e.kind, e.body
           FROM moved, unnest($2::bigint[], $3::smallint[], $4::text[]) AS e (seq, kind, body)`,
        [
          log.key,
          seqs,
          batch.map((p) => kindOf(p.event.type)),
          batch.map((p) => p.body),
          last,
          first - 1,
          log.epoch,
          title?.title ?? null,
          title?.source ?? null,
        ],
      );
      if (r.rowCount === batch.length) return undefined;
      return new StoreError(
        'store_out_of_order',
        `Session ${log.key} was written by another instance (or it took over the session): events #${first}-#${last} were not kept.`,
      );
    } catch (err) {
      return new StoreError(
        'store_write_failed',
        `Could not save events #${first}-#${last} of session ${log.key}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  return drain;
}
