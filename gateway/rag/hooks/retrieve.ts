import { searchWithPolicy } from '../retrievers/guard.ts';
import type { BeforeHook, HookContext } from '../hooks.ts';

/** Grace beyond the retriever's own timeout, so its fail-open/closed policy decides, not the hook runner. */
const GRACE_MS = 1_000;

/**
 * The retrieval step as a hook, so its place among the others is explicit (`before:
 * [max-query-length, retrieve, require-context]`); a route that does not list it runs it first.
 * Applies `top_k` and `min_score`; an empty query retrieves nothing.
 */
export function retrieveHook(ctx: HookContext): BeforeHook {
  return {
    name: 'retrieve',
    phase: 'before',
    timeoutMs: ctx.policy.timeoutMs + GRACE_MS,
    async run(state) {
      if (state.query === '') {
        state.documents = [];
        return;
      }
      const result = await searchWithPolicy(
        ctx.retriever,
        ctx.policy,
        state.query,
        { topK: ctx.rag.top_k, filters: state.filters, signal: state.signal },
        ctx.logger,
      );
      state.retrievalMs = result.ms;
      if (result.error !== null) state.annotations.retrieval_error = result.error;
      const minScore = ctx.rag.min_score;
      state.documents = minScore === undefined ? result.documents : result.documents.filter((d) => d.score >= minScore);
    },
  };
}
