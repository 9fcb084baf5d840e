import type { CallTracker } from '../calls/tracker.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { NO_PHASE, type PhaseAttributes, type TracePhase } from '../observability/tracing.ts';

/**
 * Runs one step of a call (prompt rendering, retrieval, cache lookup) inside a span of its own
 * under the call's server span (DESIGN §4.5): ended with `attributes` of the step's result, or
 * with the error's code when it throws. An untraced call pays one property read.
 */
export async function inPhase<T>(call: Pick<CallTracker, 'trace'>, phase: TracePhase, run: () => Promise<T>, attributes?: (result: T) => PhaseAttributes): Promise<T> {
  const span = call.trace?.startPhase(phase) ?? NO_PHASE;
  if (span === NO_PHASE) return run();
  try {
    const result = await run();
    span.end(attributes?.(result));
    return result;
  } catch (err) {
    span.end(undefined, err instanceof GatewayError ? err.code : 'internal_error');
    throw err;
  }
}
