import { GatewayError } from '../../errors/gateway-error.ts';
import { DEFAULT_HOOK_TIMEOUT_MS, type BeforeHook } from '../hooks.ts';

export const MAX_QUERY_CHARS = 2_000;

/**
 * Rejects (400) a retrieval query longer than MAX_QUERY_CHARS characters — a pasted document is
 * not a search, and long queries make OR-of-terms search match most of a collection. List it
 * before `retrieve`.
 */
export function maxQueryLengthHook(): BeforeHook {
  return {
    name: 'max-query-length',
    phase: 'before',
    timeoutMs: DEFAULT_HOOK_TIMEOUT_MS,
    run(state) {
      if (state.query.length <= MAX_QUERY_CHARS) return;
      throw new GatewayError(
        'invalid_request',
        `The retrieval query is ${state.query.length} characters long; this route accepts at most ${MAX_QUERY_CHARS}.`,
        { param: 'messages' },
      );
    },
  };
}
