import type { Database } from '../../gateway/db/client.ts';
import { claimRun } from './claim.ts';
import type { EvalQueue } from './types.ts';

/**
 * The queue without a queue library: workers poll `eval_runs` and claim with SKIP LOCKED.
 * Used with embedded PGlite (pg-boss needs a Postgres server connection) and works on any
 * Postgres too.
 */
export function tableQueue(database: Pick<Database, 'db'>): EvalQueue {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  // Pumps in progress: a claim sent before stop() can still come back with a run, so stop()
  // waits for them as well as for the runs they started.
  const pumps = new Set<Promise<void>>();
  let wake: (() => void) | undefined;

  return {
    kind: 'table',
    async submit() {
      wake?.();
    },
    async work(handle, { worker, concurrency, pollMs = 1_000 }) {
      stopped = false;
      const pumpOnce = async (): Promise<void> => {
        timer = undefined;
        while (!stopped && inFlight.size < concurrency) {
          const id = await claimRun(database, worker).catch(() => null);
          if (!id) break;
          const p = handle(id)
            .catch(() => {})
            .finally(() => {
              inFlight.delete(p);
              if (!stopped) void pump();
            });
          inFlight.add(p);
        }
        if (!stopped && !timer) timer = setTimeout(() => void pump(), pollMs);
      };
      const pump = (): Promise<void> => {
        const p = pumpOnce().finally(() => pumps.delete(p));
        pumps.add(p);
        return p;
      };
      wake = () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        void pump();
      };
      await pump();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // A pump may start a run after its claim returns: wait until no pump and no run is left.
      while (pumps.size > 0 || inFlight.size > 0) await Promise.all([...pumps, ...inFlight]);
    },
  };
}
