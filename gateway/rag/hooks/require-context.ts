import { GatewayError } from '../../errors/gateway-error.ts';
import { DEFAULT_HOOK_TIMEOUT_MS, type BeforeHook, type HookContext } from '../hooks.ts';

/**
 * Strict grounding: rejects the call when retrieval found nothing (after `min_score`, or because
 * a fail-open retriever failed). 422 with code `invalid_request`: the request is well formed, but
 * the route will not answer it without sources. Must come after `retrieve`.
 */
export function requireContextHook(ctx: HookContext): BeforeHook {
  return {
    name: 'require-context',
    phase: 'before',
    timeoutMs: DEFAULT_HOOK_TIMEOUT_MS,
    run(state) {
      if (state.documents.length > 0) return;
      const why = typeof state.annotations.retrieval_error === 'string' ? ` (retrieval ${state.annotations.retrieval_error})` : '';
      throw new GatewayError(
        'invalid_request',
        `No context was found for this request${why}; route '${ctx.rag.route}' answers only from retrieved sources.`,
        { status: 422, param: 'messages' },
      );
    },
  };
}
