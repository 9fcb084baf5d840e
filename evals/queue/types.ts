/**
 * Where queued eval runs wait for a worker (issue 10 §6). The `eval_runs` row is always written
 * first; the queue only hands its id to exactly one worker at a time.
 */
export interface EvalQueue {
  readonly kind: 'pg-boss' | 'table';
  /** Tells workers about a run already inserted with status `queued`. */
  submit(runId: string): Promise<void>;
  /**
   * Starts handing runs to `handle`, at most `concurrency` at once. `handle` receives a run this
   * worker has claimed (its row is `running`, owned by `worker`).
   */
  work(handle: (runId: string) => Promise<void>, opts: { worker: string; concurrency: number; pollMs?: number }): Promise<void>;
  /** Stops taking new runs and waits for the ones in hand. */
  stop(): Promise<void>;
}
