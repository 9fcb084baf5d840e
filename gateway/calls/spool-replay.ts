import type { Logger } from '../logger.ts';
import type { CallRowJson } from './call-row.ts';
import type { Spool } from './spool.ts';

/** A spool file being replayed: removed once it is read to the end and every chunk is in. */
export interface ReplayFile {
  path: string;
  rows: number;
  /** Chunks handed out but not yet acknowledged. */
  pending: number;
  done: boolean;
}

export interface ReplayChunk {
  rows: CallRowJson[];
  file: ReplayFile;
}

export interface SpoolReplayOptions {
  spool: Spool;
  chunkSize: number;
  /** A chunk also ends once its rows reach this many characters. */
  chunkChars?: number;
  logger: Pick<Logger, 'info' | 'error'>;
  /** Settles pending appends, so a listing sees them. */
  settle: () => Promise<void>;
  /** A torn line (a process died mid-append): that record is lost; the caller counts it. */
  onBadLine: (path: string) => void;
}

/**
 * Hands out the spool's rows chunk by chunk, oldest file first, one reader at a time. A file
 * is removed only after every chunk read from it was acknowledged, so a crash or an outage in
 * the middle leaves it to be replayed again (rows are idempotent on their key).
 */
export class SpoolReplay {
  private current: { file: ReplayFile; chunks: AsyncGenerator<string[]> } | null = null;
  private queue: string[] = [];
  private readonly open = new Set<string>();
  private reading: Promise<unknown> = Promise.resolve();
  private generation = 0;
  private pendingFlag = false;

  constructor(private readonly opts: SpoolReplayOptions) {}

  /** True while the spool may hold rows not yet in the database. */
  get pending(): boolean {
    return this.pendingFlag;
  }

  /** Rows were appended (or found at start): there is something to replay. */
  markPending(): void {
    this.generation++;
    this.pendingFlag = true;
  }

  /** Stops replaying until the next append (the directory could not be read). */
  clearPending(): void {
    this.pendingFlag = false;
  }

  /** The next chunk, or null when the spool is empty. Calls are serialised. */
  next(): Promise<ReplayChunk | null> {
    const run = this.reading.then(() => this.read());
    this.reading = run.catch(() => {});
    return run;
  }

  /** A chunk is in the database; its file goes once all of its chunks are. */
  async acknowledge(file: ReplayFile): Promise<void> {
    file.pending--;
    if (file.done && file.pending === 0) await this.finish(file);
  }

  private async read(): Promise<ReplayChunk | null> {
    const { spool } = this.opts;
    for (;;) {
      if (!this.current) {
        if (this.queue.length === 0) {
          const generation = this.generation;
          await this.opts.settle();
          await spool.seal();
          this.queue = (await spool.replayable()).filter((p) => !this.open.has(p));
          if (this.queue.length === 0) {
            if (generation === this.generation) this.pendingFlag = false;
            return null;
          }
        }
        const path = this.queue.shift()!;
        this.open.add(path);
        const file: ReplayFile = { path, rows: 0, pending: 0, done: false };
        this.current = { file, chunks: spool.read(path, this.opts.chunkSize, () => this.opts.onBadLine(path), this.opts.chunkChars) };
      }
      const { file, chunks } = this.current;
      let next: IteratorResult<string[]>;
      try {
        next = await chunks.next();
      } catch (err) {
        // Gone (another instance replayed it) or unreadable: move on, and say so.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.opts.logger.error('call log: cannot read spool file', { path: file.path, err: String(err) });
        }
        next = { done: true, value: undefined };
        file.rows = -1;
      }
      if (next.done) {
        file.done = true;
        this.current = null;
        if (file.pending === 0) await this.finish(file);
        continue;
      }
      file.pending++;
      file.rows += next.value.length;
      return { rows: next.value, file };
    }
  }

  private async finish(file: ReplayFile): Promise<void> {
    try {
      if (file.rows >= 0) await this.opts.spool.remove(file.path);
      if (file.rows > 0) this.opts.logger.info('call log: spool file replayed', { path: file.path, rows: file.rows });
    } catch (err) {
      this.opts.logger.error('call log: cannot remove replayed spool file', { path: file.path, err: String(err) });
    } finally {
      // An unreadable file stays out of this process's listings (it was logged once).
      if (file.rows >= 0) this.open.delete(file.path);
    }
  }
}
