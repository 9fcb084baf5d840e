/**
 * Keeps an in-memory view of some tables fresh: LISTEN for changes where the driver can,
 * and poll as well. Nothing here is prompt-specific: it lives in prompts/ because DESIGN §1
 * lets gateway/ import prompts/ and not the reverse, and the prompt resolver, the key store
 * and the route weights store all need it.
 *
 * Why the poll stays on even while LISTENing: a NOTIFY sent while the LISTEN connection is
 * down is lost for good (Postgres queues notifications per session, and that session is
 * gone). The driver re-LISTENs on reconnect and calls `onListen`, where we catch up at once;
 * the poll bounds the damage when even that cannot happen (a half-open TCP connection that
 * nobody has noticed yet delivers nothing and never "reconnects").
 */

/** The slice of a database the refresher needs (gateway/db/client.ts `Database` fits). */
export interface ListenSource {
  /**
   * LISTEN on `channel`; `onListen` runs every time the LISTEN is (re)established, the first
   * time included. False when the driver cannot listen across processes (PGlite): poll instead.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<boolean>;
}

export interface RefresherOptions {
  source: ListenSource;
  channel: string;
  /** A notification arrived (payload as sent). Runs only while the refresher is started. */
  onNotify(payload: string): void;
  /** Catches up with whatever changed since the last look: run by every poll and after every re-LISTEN. */
  refresh(): Promise<void>;
  /** Poll period when the source cannot LISTEN. */
  pollIntervalMs: number;
  /** Poll period while LISTENing: the safety net, so it bounds how stale a lost notification can leave us. */
  safetyPollIntervalMs: number;
  /** Failures of background refreshes; they are retried by the next poll. */
  onError(err: unknown): void;
}

export interface Refresher {
  /** True when changes arrive by LISTEN/NOTIFY (the poll is then only the safety net). */
  readonly listening: boolean;
  /** Runs `refresh` now (coalesced with one in flight); resolves when a run that started after this call ends. */
  refreshNow(): Promise<void>;
  /** Stops polling and ignores further notifications and reconnects (the driver has no UNLISTEN here). */
  stop(): void;
}

/**
 * `fn`, run at most once at a time. A call made while a run is in flight does not share that
 * run (it may have read before the change the caller is reacting to): it shares the next one,
 * which starts when the current one ends. So there is at most one run and one queued run.
 */
export function serialized(fn: () => Promise<void>): () => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  return () => {
    if (queued) return queued;
    const run = chain.then(() => {
      queued = undefined;
      return fn();
    });
    queued = run;
    chain = run.catch(() => {});
    return run;
  };
}

/**
 * Subscribes and starts polling. The caller loads its initial state after this resolves, so
 * nothing committed between that load and the LISTEN is missed (the LISTEN is already up).
 */
export async function startRefresher(opts: RefresherOptions): Promise<Refresher> {
  const refresh = serialized(opts.refresh);
  let running = true;
  // The first onListen comes while listen() itself is still resolving: the caller's initial
  // load follows it, so only later ones (reconnects) need a catch-up.
  let established = false;
  const catchUp = (): void => {
    if (running) refresh().catch(opts.onError);
  };
  const listening = await opts.source.listen(
    opts.channel,
    (payload) => {
      if (running) opts.onNotify(payload);
    },
    () => {
      if (established) catchUp();
    },
  );
  established = true;
  const timer = setInterval(catchUp, listening ? opts.safetyPollIntervalMs : opts.pollIntervalMs);
  timer.unref();
  return {
    listening,
    refreshNow: refresh,
    stop() {
      running = false;
      clearInterval(timer);
    },
  };
}
