import type { CallEvents, CallFinished } from '../../gateway/calls/call-events.ts';
import type { NormalizedUsage } from '../../core/usage.ts';

/** Usage with only input and output tokens. */
export const usage = (input: number, output: number): NormalizedUsage => ({
  inputTokens: input,
  outputTokens: output,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
});

/**
 * Collects every CallFinished the bus announces, and lets a test wait for the next one. Pass
 * `first` to subscribe before listeners already there (as createApp does for the call log).
 */
export function collectFinished(events: CallEvents, opts: { first?: boolean } = {}): { finished: CallFinished[]; nextFinished(): Promise<CallFinished> } {
  const finished: CallFinished[] = [];
  let waiters: Array<(e: CallFinished) => void> = [];
  events.onFinished((e) => {
    finished.push(e);
    const ready = waiters;
    waiters = [];
    for (const w of ready) w(e);
  }, opts);
  return { finished, nextFinished: () => new Promise<CallFinished>((resolve) => waiters.push(resolve)) };
}
