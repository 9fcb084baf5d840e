import type { CallWalStats } from './wal.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { PayloadOptions } from './payloads.ts';

export interface CallLogWriterOptions {
  database: Pick<Database, 'db' | 'kind'>;
  /** Where overflow and undeliverable records are kept (DESIGN §2: ./.sluice/spool). */
  spoolDir: string;
  /** Records held in memory before new ones spill to the spool. */
  queueMax?: number;
  /**
   * Estimated bytes held in memory (queued records and batches awaiting the database) before
   * new records spill to the spool (`logging.queue_max_bytes`); also the bound on rows waiting
   * for the spool's disk.
   */
  queueMaxBytes?: number;
  batchSize?: number;
  /** A partial batch is written at most this long after its first record arrived. */
  flushMs?: number;
  payloads: PayloadOptions;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Wall clock (epoch ms), for spool file names and records without a valid start time. */
  now?: () => number;
  /** Batches written at once; default 2 on a Postgres server, 1 on PGlite (single-threaded). */
  concurrency?: number;
  /** Retry delays after a failed batch: initial, doubling to max, with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  spoolFileMaxBytes?: number;
  /** How long close() tries the database before putting the rest in the spool. */
  closeTimeoutMs?: number;
  /** A batch also ends when its records reach this many (estimated) bytes. */
  maxBatchChars?: number;
  /** Random source for the backoff jitter. */
  random?: () => number;
  /**
   * The write-ahead log of answered calls in `spoolDir` (issue 21, wal.ts); absent: off.
   * `fsyncMs`: fdatasync it at most this often (`logging.wal.fsync_ms`).
   */
  wal?: { fsyncMs?: number | undefined; maxSegmentBytes?: number | undefined; mapped?: boolean | undefined } | undefined;
}

export interface CallLogStats {
  /** Records only in memory (queue, overflow on its way to the spool, batches awaiting retry). */
  queued: number;
  /** Estimated bytes of the queue and of live batches awaiting the database; ≤ queueMaxBytes. */
  queuedBytes: number;
  /** Bytes on their way to the spool (overflow not yet prepared, rows not yet appended). */
  spillingBytes: number;
  written: number;
  spooled: number;
  replayed: number;
  dropped: number;
  failedBatches: number;
  lastError: string | null;
  /** The write-ahead log's counters, when it is on. */
  wal?: CallWalStats;
}

export const DEFAULT_QUEUE_MAX_BYTES = 64 * 1024 * 1024;

/** The writer's bounds and timings, defaults applied (each at least 1 where 0 would stall it). */
export interface WriterLimits {
  queueMax: number;
  queueMaxBytes: number;
  batchSize: number;
  flushMs: number;
  concurrency: number;
  closeTimeoutMs: number;
  maxBatchChars: number;
}

export function writerLimits(opts: CallLogWriterOptions): WriterLimits {
  const queueMaxBytes = Math.max(1, opts.queueMaxBytes ?? DEFAULT_QUEUE_MAX_BYTES);
  return {
    queueMax: Math.max(1, opts.queueMax ?? 50_000),
    queueMaxBytes,
    batchSize: Math.max(1, opts.batchSize ?? 500),
    flushMs: Math.max(1, opts.flushMs ?? 200),
    concurrency: Math.max(1, opts.concurrency ?? (opts.database.kind === 'postgres' ? 2 : 1)),
    closeTimeoutMs: opts.closeTimeoutMs ?? 10_000,
    // A batch is never larger than the byte bound itself.
    maxBatchChars: Math.min(opts.maxBatchChars ?? 8 * 1024 * 1024, queueMaxBytes),
  };
}
