import { GatewayError } from '../../errors/gateway-error.ts';
import type { Logger } from '../../logger.ts';
import { DeadlineExceeded, withDeadline } from '../deadline.ts';
import type { RetrievedDoc, Retriever } from '../types.ts';
import { RetrieverHttpError } from './http.ts';

export interface RetrievalPolicy {
  timeoutMs: number;
  onError: 'fail-open' | 'fail-closed';
}

export interface GuardedSearch {
  documents: RetrievedDoc[];
  /** Why retrieval failed under fail-open (the call went on without context); null on success. */
  error: string | null;
  ms: number;
}

/**
 * One search under the retriever's policy: at most `timeoutMs` (the call is never held past
 * it); a failure or timeout is, fail-open, an empty result with the reason, or, fail-closed, a
 * 502 `upstream_error` naming the retriever. The client-visible reason is our own wording
 * (HTTP status, timeout, bad shape); anything else (a driver error, a refused connection,
 * which may name internal hosts) is logged and shown as "failed".
 */
export async function searchWithPolicy(
  retriever: Retriever,
  policy: RetrievalPolicy,
  query: string,
  opts: { topK: number; filters?: Record<string, unknown> | undefined; signal: AbortSignal },
  logger?: Logger,
): Promise<GuardedSearch> {
  const started = performance.now();
  try {
    const documents = await withDeadline(policy.timeoutMs, opts.signal, (signal) =>
      retriever.search(query, { topK: opts.topK, filters: opts.filters, signal }),
    );
    return { documents, error: null, ms: performance.now() - started };
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'client_aborted') throw err;
    const reason = err instanceof DeadlineExceeded || err instanceof RetrieverHttpError ? err.message : 'failed';
    logger?.warn('rag: retrieval failed', {
      retriever: retriever.name,
      policy: policy.onError,
      err: err instanceof Error ? err.message : String(err),
    });
    if (policy.onError === 'fail-closed') {
      throw new GatewayError('upstream_error', `Retriever '${retriever.name}' ${reason === 'failed' ? 'failed' : `failed: ${reason}`}.`, {
        cause: err,
      });
    }
    return { documents: [], error: reason, ms: performance.now() - started };
  }
}
