import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { startCallRow, toCallRow, type CallRowJson } from './call-row.ts';
import { describeDbError, insertIsolatingBadRows } from './insert.ts';
import { LiveQueue, type HeldCall } from './live-queue.ts';
import { compilePayloadPolicy, type PayloadPolicy } from './payloads.ts';
import type { CallRecord, CallSink, RowStart } from './record.ts';
import { estimateRecordBytes } from './record-size.ts';
import { RetryBackoff } from './retry-backoff.ts';
import { rowId } from './row-fields.ts';
import { Spiller } from './spiller.ts';
import { SpoolReplay, type ReplayFile } from './spool-replay.ts';
import { Spool } from './spool.ts';
import { CallWal } from './wal.ts';
import { recoverWal } from './wal-recover.ts';
import { writerLimits, type CallLogStats, type CallLogWriterOptions, type WriterLimits } from './writer-options.ts';

export type { CallLogStats, CallLogWriterOptions } from './writer-options.ts';

interface Batch {
  rows: CallRowJson[];
  /** Set when the rows came from a spool file, which is removed once every chunk is in. */
  replay: ReplayFile | null;
  /** What its records reserved of the byte bound (live batches), released once written. */
  bytes: number;
}

/**
 * The call log sink (DESIGN §2): `enqueue` is an array push; batches are written off the
 * request path as one statement each (insert.ts). When Postgres fails or lags, batches are
 * retried with backoff while new records keep queueing; past `queueMax` records or
 * `queueMaxBytes` (estimated, record-size.ts) they go to the spool file (spiller.ts) and are
 * replayed once the database answers (spool-replay.ts). A record is only ever dropped when the
 * spool itself cannot be written, or when Postgres rejects that one row; both are counted and
 * logged.
 */
export class CallLogWriter implements CallSink {
  private readonly database: Pick<Database, 'db' | 'kind'>;
  private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  private readonly policy: PayloadPolicy;
  private readonly spool: Spool;
  private readonly now: () => number;
  private readonly limits: WriterLimits;

  private readonly queue = new LiveQueue();
  private retry: Batch[] = [];
  private readonly inflight = new Set<Batch>();
  /** Bytes reserved by live batches (in flight or awaiting a retry). */
  private batchBytes = 0;
  private readonly workers = new Set<Promise<void>>();
  private readonly spiller: Spiller;

  private healthy = true;
  private readonly backoff: RetryBackoff;
  private tick: NodeJS.Timeout | null = null;
  private sizeTriggered = false;

  private readonly replay: SpoolReplay;
  /** The write-ahead log (issue 21), when on; rows it was given are queued instead of their records. */
  private readonly wal: CallWal | null;

  private scan: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private stopped = false;
  private closed = false;

  private readonly counters = { written: 0, spooled: 0, replayed: 0, dropped: 0, failedBatches: 0 };
  private lastError: string | null = null;

  constructor(opts: CallLogWriterOptions) {
    this.database = opts.database;
    this.logger = opts.logger;
    this.policy = compilePayloadPolicy(opts.payloads);
    this.now = opts.now ?? Date.now;
    this.limits = writerLimits(opts);
    this.backoff = new RetryBackoff({
      initialMs: opts.backoff?.initialMs ?? 100,
      maxMs: opts.backoff?.maxMs ?? 10_000,
      random: opts.random ?? Math.random,
    });
    this.spool = new Spool({
      dir: opts.spoolDir,
      maxFileBytes: opts.spoolFileMaxBytes ?? 64 * 1024 * 1024,
      now: this.now,
      onForeignFile: (path) => this.logger.warn('call log: a spool file in a row format this version does not read (a later version wrote it); left in place', { path }),
    });
    this.spiller = new Spiller({
      spool: this.spool,
      prepare: (records) => this.prepare(records),
      maxPendingChars: this.limits.queueMaxBytes,
      counters: this.counters,
      onSpooled: (rows) => {
        this.replay.markPending();
        this.wal?.release(rows);
      },
      logger: this.logger,
    });
    this.wal = opts.wal ? new CallWal({ dir: opts.spoolDir, ...opts.wal, now: this.now, logger: this.logger }) : null;
    if (this.wal) this.startRow = (record) => this.beginRow(record);
    this.replay = new SpoolReplay({
      spool: this.spool,
      chunkSize: this.limits.batchSize,
      chunkChars: this.limits.maxBatchChars,
      logger: this.logger,
      settle: () => this.spiller.settled(),
      onBadLine: (path) => {
        this.counters.dropped++;
        this.logger.error('call log: dropped a torn line in a spool file (written when a process died)', { path });
      },
    });
  }

  /**
   * On the request path: a size estimate bounded by construction (record-size.ts), a push, and
   * at most one callback scheduled. With the write-ahead log a JSON answer's row is built here
   * instead, before its body goes out, written with one `write`, and queued in place of the
   * record (serialised once: the batch and the spool take that row). A stream's record as
   * answered is in the log already (`streamAnswered`), so its row waits for the batch. Never
   * throws.
   */
  enqueue(record: CallRecord, start?: RowStart | null): void {
    try {
      if (this.closed) return this.spiller.writeSync(this.prepare([record]));
      let held: HeldCall = record;
      let bytes: number;
      // Only a stream can have been answered ahead (a JSON answer is enqueued before it goes out).
      if (this.wal && !(record.stream && this.wal.takeAnswered(record.id))) {
        const row = this.rowOf(record, start);
        if (row === null) return;
        this.wal.append('F', row);
        held = row;
        bytes = row.length;
      } else {
        bytes = estimateRecordBytes(record);
      }
      if (this.queue.length >= this.limits.queueMax) return this.spiller.add(held, bytes, `queue full (${this.limits.queueMax} records)`);
      // Everything held for the database counts: the queue and the batches awaiting it.
      if (this.queue.bytes + this.batchBytes + bytes > this.limits.queueMaxBytes) {
        return this.spiller.add(held, bytes, `queue over ${this.limits.queueMaxBytes} bytes`);
      }
      this.queue.push(held, bytes);
      if ((this.queue.length >= this.limits.batchSize || this.queue.bytes >= this.limits.maxBatchChars) && !this.sizeTriggered) {
        this.sizeTriggered = true;
        setImmediate(this.onBatchFull);
      }
    } catch (err) {
      this.counters.dropped++;
      this.logger.error('call log: record dropped', { callId: record?.id, err: String(err) });
    }
  }

  /** A stream started: its opening is written ahead, as an `interrupted` row (issue 21). */
  streamOpened(record: Readonly<CallRecord>, start?: RowStart | null): void {
    this.wal?.opened(record, this.policy, start);
  }

  /**
   * A stream's last byte is about to go out: its record as answered is written ahead. That
   * entry stands for the call until the batch has it; the record finished a moment later (its
   * after hooks settled) is not written ahead again.
   */
  streamAnswered(record: Readonly<CallRecord>, start?: RowStart | null): void {
    this.wal?.answered(record, this.policy, start);
  }

  /**
   * With the write-ahead log, a call's row is built before its answer goes out: its fixed part
   * is built here instead, while the upstream call is out (the tracker asks). Without the log
   * rows are built in the batch, off the request path already: absent, so the tracker
   * schedules nothing per call.
   */
  readonly startRow?: ((record: Readonly<CallRecord>) => RowStart | null) | undefined;

  private beginRow(record: Readonly<CallRecord>): RowStart | null {
    if (this.closed) return null;
    try {
      return startCallRow(record, this.policy, this.now());
    } catch {
      return null; // built whole at the finish, where a failure is counted
    }
  }

  /**
   * Starts the flush timer and replays what a previous process left behind: its write-ahead
   * log (moved to the spool first) and its spool.
   */
  start(): void {
    if (this.tick || this.stopped) return;
    this.tick = setInterval(() => this.kick(true), this.limits.flushMs);
    this.tick.unref();
    const wal = this.wal;
    const recovered = wal ? recoverWal({ dir: wal.dir, own: wal.ownPaths, spool: this.spool, logger: this.logger }) : Promise.resolve();
    this.scan = recovered
      .then(() => this.spool.replayable())
      .then((files) => {
        if (files.length === 0) return;
        this.logger.info('call log: replaying spool from an earlier run', { files: files.length, dir: this.spool.dir });
        this.replay.markPending();
        this.kick(true);
      })
      .catch((err: unknown) => this.logger.error('call log: cannot read spool directory', { err: String(err) }));
  }

  /**
   * Writes everything held now (queue, overflow, spool) to the database. Rejects when a write
   * fails; the records stay queued and the background retry carries on.
   */
  async flush(): Promise<void> {
    await this.scan;
    while (!this.stopped) {
      this.spiller.spill();
      await this.spiller.settled();
      await this.idle();
      if (this.queue.length === 0 && this.retry.length === 0 && !this.replay.pending) return;
      const { failedBatches, written, replayed, dropped } = this.counters;
      this.backoff.cancel();
      this.kick(true);
      await this.idle();
      const c = this.counters;
      if (c.failedBatches > failedBatches) throw new Error(`call log: database write failed: ${this.lastError}`);
      if (c.written === written && c.replayed === replayed && c.dropped === dropped && this.queue.length === 0) {
        // Nothing moved and nothing failed (the spool was unreadable): stop rather than spin.
        if (this.retry.length === 0) return;
      }
    }
  }

  /**
   * Stops the timers and drains: to the database while it answers (within closeTimeoutMs),
   * the rest to the spool. Resolves when no record is held only in memory.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  stats(): CallLogStats {
    let held = this.queue.length + this.spiller.count;
    if (!this.closed) {
      for (const b of this.retry) if (!b.replay) held += b.rows.length;
      for (const b of this.inflight) if (!b.replay) held += b.rows.length;
    }
    return {
      queued: held,
      queuedBytes: this.queue.bytes + this.batchBytes,
      spillingBytes: this.spiller.bytes,
      ...this.counters,
      lastError: this.lastError,
      ...(this.wal ? { wal: this.wal.stats() } : {}),
    };
  }

  private async shutdown(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.flush(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.limits.closeTimeoutMs} ms`)), this.limits.closeTimeoutMs);
        }),
      ]);
    } catch (err) {
      this.logger.warn('call log: database unavailable at shutdown; keeping the rest in the spool', {
        err: err instanceof Error ? err.message : String(err),
      });
    } finally {
      clearTimeout(timer);
    }
    this.stopped = true;
    this.closed = true;
    this.backoff.cancel();

    // Rows of replayed chunks still live in their spool file, which is only removed once
    // every chunk is in; live rows in a batch still awaiting an answer are spooled too (a
    // late success makes the spooled copy a no-op on replay).
    const rows: CallRowJson[] = [];
    for (const b of this.retry) if (!b.replay) rows.push(...b.rows);
    for (const b of this.inflight) if (!b.replay) rows.push(...b.rows);
    this.retry = [];
    this.batchBytes = 0;
    rows.push(...this.prepare(this.queue.drain()), ...this.prepare(this.spiller.takeOverflow()));
    await this.spiller.settled();
    await this.spiller.write(rows);
    await this.spool.close().catch((err: unknown) => this.logger.error('call log: cannot seal spool file', { err: String(err) }));
    // Everything is in the database or the spool now (released): the log's segments go. Rows
    // the spool refused stay in it for the next start.
    this.wal?.close();
    await this.wal?.settled();
  }

  private readonly onBatchFull = (): void => {
    this.sizeTriggered = false;
    this.kick(false);
  };

  /** Starts writers up to the concurrency (one probe while the database is failing). */
  private kick(partial: boolean): void {
    if (this.stopped || this.backoff.waiting) return;
    const want = this.healthy ? this.limits.concurrency : 1;
    while (this.workers.size < want) {
      const worker: Promise<void> = this.work(partial).finally(() => this.workers.delete(worker));
      this.workers.add(worker);
    }
  }

  private async idle(): Promise<void> {
    while (this.workers.size > 0) await Promise.all(this.workers);
  }

  /**
   * One writer: a partial batch first when the timer (or flush) asked, then only full batches,
   * then spool chunks while the live queue is short. Stops at the first failed write.
   */
  private async work(partial: boolean): Promise<void> {
    await Promise.resolve();
    let takePartial = partial;
    try {
      while (!this.stopped && !this.backoff.waiting) {
        const batch = this.nextLiveBatch(takePartial) ?? (await this.nextReplayBatch());
        takePartial = false;
        if (!batch) return;
        if (!(await this.write(batch))) return;
      }
    } catch (err) {
      // Only the spool can throw here (unreadable directory): stop replaying until the next spill.
      this.replay.clearPending();
      this.logger.error('call log: cannot replay the spool', { dir: this.spool.dir, err: String(err) });
    }
  }

  private nextLiveBatch(partial: boolean): Batch | null {
    const retry = this.retry.pop();
    if (retry) return retry;
    const n = this.queue.length;
    if (n === 0 || (n < this.limits.batchSize && this.queue.bytes < this.limits.maxBatchChars && !partial)) return null;
    let count = 0;
    let bytes = 0;
    // Up to batchSize records and maxBatchChars bytes (always at least one record).
    const taken = this.queue.takeWhile((_, size) => {
      if (count > 0 && (count >= this.limits.batchSize || bytes + size > this.limits.maxBatchChars)) return false;
      count++;
      bytes += size;
      return true;
    });
    const rows = this.prepare(taken.records);
    if (rows.length === 0) return this.nextLiveBatch(partial);
    // The records' reservation moves to the batch until the database has it.
    this.batchBytes += taken.bytes;
    return { rows, replay: null, bytes: taken.bytes };
  }

  /** The next chunk of the spool, once the live queue is under a batch (live records first). */
  private async nextReplayBatch(): Promise<Batch | null> {
    if (!this.replay.pending || this.queue.length >= this.limits.batchSize) return null;
    const chunk = await this.replay.next();
    return chunk ? { rows: chunk.rows, replay: chunk.file, bytes: 0 } : null;
  }

  /** True when the batch is in (refused rows set aside and counted); false when it waits for a retry. */
  private async write(batch: Batch): Promise<boolean> {
    this.inflight.add(batch);
    try {
      await insertIsolatingBadRows(this.database, batch.rows, (row, err) => {
        this.counters.dropped++;
        if (!batch.replay) this.wal?.releaseId(rowId(row));
        this.logger.error('call log: database rejected a call record; dropped', { callId: rowId(row), err: describeDbError(err) });
      });
      this.succeeded(batch);
      return true;
    } catch (err) {
      this.failed(batch, err);
      return false;
    } finally {
      this.inflight.delete(batch);
    }
  }

  private succeeded(batch: Batch): void {
    if (this.closed) return;
    if (batch.replay) {
      this.counters.replayed += batch.rows.length;
      void this.replay.acknowledge(batch.replay);
    } else {
      this.counters.written += batch.rows.length;
      this.batchBytes -= batch.bytes;
      this.wal?.release(batch.rows);
    }
    this.backoff.succeeded();
    if (!this.healthy) {
      this.healthy = true;
      this.spiller.rearm();
      this.logger.info('call log: database writes resumed', { ...this.counters, queued: this.queue.length });
      this.kick(true);
    }
  }

  private failed(batch: Batch, err: unknown): void {
    this.counters.failedBatches++;
    this.lastError = describeDbError(err);
    this.retry.push(batch);
    if (this.healthy) {
      this.healthy = false;
      this.logger.warn('call log: database write failed; retrying with backoff', { err: this.lastError });
    }
    if (!this.stopped) this.backoff.failed(() => this.kick(true));
  }

  private prepare(records: readonly HeldCall[]): CallRowJson[] {
    const rows: CallRowJson[] = [];
    for (const r of records) {
      const row = typeof r === 'string' ? r : this.rowOf(r);
      if (row !== null) rows.push(row);
    }
    return rows;
  }

  private rowOf(record: CallRecord, start?: RowStart | null): CallRowJson | null {
    try {
      return toCallRow(record, this.policy, this.now(), record.status, start);
    } catch (err) {
      this.counters.dropped++;
      this.logger.error('call log: cannot serialise a call record; dropped', { callId: record?.id, err: String(err) });
      // A stream's entries in the write-ahead log go with it: the drop is counted here.
      this.wal?.releaseId(record?.id);
      return null;
    }
  }
}
