import type { PromptResolver } from '../../prompts/index.ts';
import type { Logger } from '../logger.ts';
import type { Provider } from '../providers/types.ts';
import type { Target } from '../routing/resolve-model.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';

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
