import type { MiddlewareHandler } from 'hono';
import { v7 as uuidv7 } from 'uuid';
import type { CallEndpoint } from '../../calls/record.ts';
import { CallTracker, type TrackerDeps } from '../../calls/tracker.ts';
import type { AppEnv } from '../env.ts';

/**
 * Opens the call record before anything can fail (auth, bad JSON), so its times count from
 * arrival and every authenticated call — rejected ones included (bad JSON, 413, 429) — ends
 * as exactly one record. Until auth sets the key the record is only provisional: a request
 * that never authenticates leaves no row and no call id (the error handler counts it instead).
 * Finishing it is the handler's or onError's job.
 */
export function trackCall(endpoint: CallEndpoint, deps: TrackerDeps): MiddlewareHandler<AppEnv> {
  return async function callTracking(c, next) {
    const call = new CallTracker(
      {
        id: uuidv7(),
        requestId: c.get('requestId'),
        endpoint,
        startedAt: new Date(deps.clock()),
        t0: deps.now(),
        awaitingKey: true,
        // DESIGN §4.5: the call's server span continues the caller's W3C trace.
        incomingTrace: { traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') },
      },
      deps,
    );
    c.set('call', call);
    await next();
    if (call.logged) c.res.headers.set('x-sluice-call-id', call.record.id);
  };
}
