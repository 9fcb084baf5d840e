import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import { responses } from './schema.ts';

/**
 * How long stored responses are kept when `logging.retention_days` is not set: OpenAI keeps
 * stored responses 30 days by default, and a conversation store that grows forever is a
 * liability (it holds what users typed), unlike the call log an operator chose to keep.
 */
export const DEFAULT_RESPONSES_RETENTION_DAYS = 30;

const DAY_MS = 86_400_000;

export interface ResponsesRetentionOptions {
  database: Pick<Database, 'db' | 'kind'>;
  /** Responses created more than this many days ago are deleted. */
  retentionDays: number;
  logger: Logger;
  /** Wall clock, epoch ms. */
  now?: () => number;
  /** Period between runs. Default 1 h. */
  intervalMs?: number;
  /** Rows per DELETE. Default 1000 (200 on PGlite, where each statement holds the event loop). */
  batchSize?: number;
  /** Batches per run, so one run's work is bounded; the rest waits for the next run. Default 100. */
  maxBatches?: number;
}

export interface RetentionRun {
  deleted: number;
  /** False when the run stopped at maxBatches (or at stop()) with old rows left. */
  complete: boolean;
}

/**
 * Deletes old stored responses off the request path, in bounded batches. Every instance may
 * run it: `FOR UPDATE SKIP LOCKED` lets concurrent runs split the rows instead of queueing on
 * them. Deleting a turn breaks the chains that continue it; continuing those is then a 404
 * naming the missing turn, as for any unknown id.
 */
export class ResponsesRetention {
  readonly #opts: Required<Omit<ResponsesRetentionOptions, 'database' | 'logger'>> & Pick<ResponsesRetentionOptions, 'database' | 'logger'>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionRun> | undefined;
  #stopping = false;

  constructor(opts: ResponsesRetentionOptions) {
    if (!(Number.isInteger(opts.retentionDays) && opts.retentionDays >= 1)) {
      throw new Error(`retention_days must be a whole number of days >= 1 (got ${opts.retentionDays})`);
    }
    this.#opts = {
      ...opts,
      now: opts.now ?? Date.now,
      intervalMs: opts.intervalMs ?? 3_600_000,
      batchSize: opts.batchSize ?? (opts.database.kind === 'pglite' ? 200 : 1000),
      maxBatches: opts.maxBatches ?? 100,
    };
  }

  /** A first run now (in the background: boot does not wait on it), then one per interval. */
  start(): void {
    this.#stopping = false;
    void this.runOnce();
    this.#timer ??= setInterval(() => void this.runOnce(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer; a run in flight ends after its current batch. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One run (shared with a run already in flight). Never throws: a failure is logged and retried next time. */
  runOnce(): Promise<RetentionRun> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<RetentionRun> {
    const cutoff = new Date(this.#opts.now() - this.#opts.retentionDays * DAY_MS);
    let deleted = 0;
    let complete = false;
    try {
      for (let batch = 0; batch < this.#opts.maxBatches && !this.#stopping; batch++) {
        const n = await this.#deleteBatch(cutoff);
        deleted += n;
        if (n < this.#opts.batchSize) {
          complete = true;
          break;
        }
      }
    } catch (err) {
      this.#opts.logger.error('responses: retention failed; will retry', { err: String((err as Error)?.cause ?? err) });
    }
    if (deleted > 0) this.#opts.logger.info('responses: deleted stored responses past retention', { deleted, before: cutoff.toISOString(), complete });
    return { deleted, complete };
  }

  async #deleteBatch(cutoff: Date): Promise<number> {
    const [row] = rowsOf<{ n: number }>(
      await this.#opts.database.db.execute(sql`
        with gone as (
          delete from ${responses} where id in (
            select id from ${responses} where created_at < ${cutoff.toISOString()}::timestamptz
            order by created_at limit ${this.#opts.batchSize} for update skip locked)
          returning 1)
        select count(*)::int as n from gone`),
    );
    return Number(row?.n ?? 0);
  }
}
