import type { PromptResolver } from '../../prompts/index.ts';
import type { Logger } from '../logger.ts';
import type { Governor } from '../policy/governor.ts';
import type { Provider } from '../providers/types.ts';
import type { Target } from '../routing/resolve-model.ts';
import type { CallTracker, TrackerDeps } from '../calls/tracker.ts';
import type { RagPipeline } from '../rag/index.ts';
import type { Router } from '../routing/router.ts';
import type { ChatCacheDeps } from './chat-cache.ts';
import { DEFAULT_RETRY, type RetryOptions, type RetryPolicy } from './retry.ts';

/** What the request pipeline needs from the composition root. */
export interface PipelineDeps extends ChatCacheDeps {
  resolveModel(model: string): Target;
  router: Router;
  /** Retrieval per route; absent when no route retrieves. */
  rag?: { pipelineFor(route: string): RagPipeline | undefined } | undefined;
  /** For calls the pipeline starts itself (shadow traffic). */
  tracker: TrackerDeps;
  prompts: PromptResolver;
  /** `server.max_n`: most choices one chat request may ask for. */
  maxN: number;
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall clock, epoch milliseconds. */
  clock(): number;
  random(): number;
  logger: Logger;
  /** Key and team policies (allow-lists, rate limits, budgets); absent: nothing is limited. */
  governor?: Governor | undefined;
}

export function retryPolicyFor(provider: Provider): RetryPolicy {
  return provider.config.retry ?? DEFAULT_RETRY;
}

/** Retry options for one target of a call; every try lands on the call's record. */
export function retryOptions(target: Target, call: CallTracker, signal: AbortSignal, deps: PipelineDeps): RetryOptions {
  return {
    policy: retryPolicyFor(target.provider),
    provider: target.provider.name,
    model: target.model,
    attempts: call.attempts,
    signal,
    now: deps.now,
    random: deps.random,
    onWait: (ms: number) => call.addWait(ms),
    trace: call.trace,
  };
}
