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
  let wake: (() => void) | undefined;

  return {
    kind: 'table',
    async submit() {
      wake?.();
    },
    async work(handle, { worker, concurrency, pollMs = 1_000 }) {
      stopped = false;
      const pump = async (): Promise<void> => {
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
      await Promise.all(inFlight);
    },
  };
}
