import type { CallRecord, RowStart } from './record.ts';

/**
 * A shadow copy of a call, decided when the call was planned (its route sampled it): sent by
 * the shadow subscriber once the call has finished ok. Plain data.
 */
export interface ShadowFollowUp {
  /** The body to send (its model is the shadow target; never streamed). */
  body: Record<string, unknown>;
  /** A registry prompt the shadow applies (`name@label`), else undefined. */
  prompt: string | undefined;
}

/** The one event every call ends with, exactly once: success, error or client abort. */
export interface CallFinished {
  readonly record: Readonly<CallRecord>;
  /** Set when the call's route sampled it for shadow traffic. */
  readonly shadow: ShadowFollowUp | null;
  /** The call log's row, begun while the upstream call was out (for the call log only). */
  readonly rowStart?: RowStart | null | undefined;
}

export type CallFinishedListener = (event: CallFinished) => void;

/**
 * Everything that happens after a call — the call log, shadow traffic, and what later hooks
 * in (metrics, traces, budgets, online scoring) — subscribes here, so the request path has a
 * single finish point (CallTracker.finish). Listeners run synchronously in the order they
 * subscribed and must not block: anything slow is queued by the listener itself. One that
 * throws is reported to `onError` and never stops the others or fails the request.
 */
export class CallEvents {
  readonly #listeners: CallFinishedListener[] = [];

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /**
   * Adds a listener; returns the function that removes it. `first` puts it before the others
   * (the call log: a record is queued before anything else reacts to it).
   */
  onFinished(listener: CallFinishedListener, opts: { first?: boolean } = {}): () => void {
    if (opts.first) this.#listeners.unshift(listener);
    else this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }

  emit(event: CallFinished): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
