import type { Logger } from '../logger.ts';
import type { CallRowJson } from './call-row.ts';
import type { HeldCall } from './live-queue.ts';
import type { Spool } from './spool.ts';

export interface SpillerOptions {
  spool: Spool;
  /** Records to rows (capped and redacted); a record that cannot be serialised is counted there. */
  prepare: (records: readonly HeldCall[]) => CallRowJson[];
  /**
   * Rows waiting for the asynchronous append may hold at most this many characters; past it
   * (a disk far slower than the traffic) a spill is written synchronously instead, so memory
   * stays bounded whatever the disk does.
   */
  maxPendingChars: number;
  /** The writer's counters: spooled on success, dropped when the spool cannot be written. */
  counters: { spooled: number; dropped: number };
  /** These rows reached the spool (durably): there is something to replay. */
  onSpooled: (rows: readonly CallRowJson[]) => void;
  logger: Pick<Logger, 'warn' | 'error'>;
}

/**
 * The writer's overflow path: records the queue has no room for (by count or by bytes) are
 * turned into rows on the next turn of the event loop (the raw bodies can then be collected)
 * and appended to the spool. Appends are serialised; `settled()` resolves once all are done.
 */
export class Spiller {
  private overflow: HeldCall[] = [];
  private overflowBytes = 0;
  private pendingRows = 0;
  private pendingChars = 0;
  private scheduled = false;
  private warned = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SpillerOptions) {}

  /** Records held in memory on their way to the spool. */
  get count(): number {
    return this.overflow.length + this.pendingRows;
  }

  /** Their bytes: estimated for records not yet prepared, exact (characters) for rows. */
  get bytes(): number {
    return this.overflowBytes + this.pendingChars;
  }

  /** O(1): the record waits for the next turn, when the whole overflow is spilled at once. */
  add(record: HeldCall, bytes: number, reason: string): void {
    this.overflow.push(record);
    this.overflowBytes += bytes;
    if (!this.warned) {
      this.warned = true;
      this.opts.logger.warn(`call log: ${reason}; spilling records to the spool`, { dir: this.opts.spool.dir });
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.spill);
    }
  }

  /** Warn again on the next spill (the database came back). */
  rearm(): void {
    this.warned = false;
  }

  /** Prepares the overflow now and queues its append. */
  readonly spill = (): void => {
    this.scheduled = false;
    if (this.overflow.length === 0) return;
    const records = this.overflow;
    this.overflow = [];
    this.overflowBytes = 0;
    const rows = this.opts.prepare(records);
    if (rows.length === 0) return;
    let chars = 0;
    for (const r of rows) chars += r.length;
    if (this.pendingChars + chars > this.opts.maxPendingChars) {
      this.writeSync(rows);
      return;
    }
    this.pendingRows += rows.length;
    this.pendingChars += chars;
    this.chain = this.chain.then(async () => {
      await this.write(rows);
      this.pendingRows -= rows.length;
      this.pendingChars -= chars;
    });
  };

  /** Resolves when every append queued so far is done (succeeded or counted as dropped). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** The records not yet prepared (shutdown takes them with the rest). */
  takeOverflow(): HeldCall[] {
    const records = this.overflow;
    this.overflow = [];
    this.overflowBytes = 0;
    return records;
  }

  /** Appends rows and counts them; never rejects. */
  async write(rows: CallRowJson[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.opts.spool.append(rows);
      this.opts.counters.spooled += rows.length;
      this.opts.onSpooled(rows);
    } catch (err) {
      this.dropped(rows.length, err);
    }
  }

  /** A small sealed file written at once: records after close, or a spill the disk is too slow for. */
  writeSync(rows: CallRowJson[]): void {
    if (rows.length === 0) return;
    try {
      this.opts.spool.appendSync(rows);
      this.opts.counters.spooled += rows.length;
      this.opts.onSpooled(rows);
    } catch (err) {
      this.dropped(rows.length, err);
    }
  }

  private dropped(count: number, err: unknown): void {
    this.opts.counters.dropped += count;
    this.opts.logger.error('call log: cannot write the spool; records dropped', { count, dir: this.opts.spool.dir, err: String(err) });
  }
}
