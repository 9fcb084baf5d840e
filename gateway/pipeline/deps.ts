import type { PromptResolver } from '../../prompts/index.ts';
import type { Logger } from '../logger.ts';
import type { Provider } from '../providers/types.ts';
import type { Target } from '../routing/resolve-model.ts';
import type { CallTracker } from '../calls/tracker.ts';
import { DEFAULT_RETRY, type RetryOptions, type RetryPolicy } from './retry.ts';

/** What the request pipeline needs from the composition root. */
export interface PipelineDeps {
  resolveModel(model: string): Target;
  prompts: PromptResolver;
  /** Monotonic milliseconds. */
  now(): number;
  random(): number;
  logger: Logger;
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
  };
}
