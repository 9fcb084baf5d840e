import type { MiddlewareHandler } from 'hono';
import { v7 as uuidv7 } from 'uuid';
import type { CallEndpoint } from '../../calls/record.ts';
import { CallTracker, type TrackerDeps } from '../../calls/tracker.ts';
import type { AppEnv } from '../env.ts';

/**
 * Opens the call record before anything can fail (auth, bad JSON), so every call — rejected
 * ones included — ends as exactly one record. Finishing it is the handler's or onError's job.
 */
export function trackCall(endpoint: CallEndpoint, deps: TrackerDeps): MiddlewareHandler<AppEnv> {
  return async function callTracking(c, next) {
    const call = new CallTracker(
      { id: uuidv7(), requestId: c.get('requestId'), endpoint, startedAt: new Date(), t0: deps.now() },
      deps,
    );
    c.set('call', call);
    await next();
    c.res.headers.set('x-sluice-call-id', call.record.id);
  };
}
