/**
 * When to try the database again after a failed batch: exponential from `initialMs` to
 * `maxMs`, with jitter so instances sharing one Postgres do not retry in step. One timer at a
 * time; while it waits, the writer sends nothing but new records keep queueing.
 */
export class RetryBackoff {
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: { initialMs: number; maxMs: number; random: () => number }) {}

  /** True while a retry is scheduled. */
  get waiting(): boolean {
    return this.timer !== null;
  }

  /** A write failed: schedules `retry` after the next delay, unless one is already scheduled. */
  failed(retry: () => void): void {
    this.failures++;
    if (this.timer) return;
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(20, this.failures - 1));
    this.timer = setTimeout(() => {
      this.timer = null;
      retry();
    }, base * (0.5 + this.opts.random() * 0.5));
    this.timer.unref();
  }

  succeeded(): void {
    this.failures = 0;
  }

  /** Drops the scheduled retry (flush retries at once; close stops). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
