/**
 * The first request for a key leads: it calls upstream and hands its result to every request
 * for the same key that arrived while it ran (the followers), so N concurrent identical misses
 * make one upstream call.
 *
 * The leader settles the flight exactly once, with a value or with `undefined` ("failed":
 * error, truncated or uncacheable answer, client gone). Followers never see the leader's
 * error: on `undefined` each proceeds on its own (calls upstream itself). A flight that is not
 * settled within `timeoutMs` settles as `undefined` by itself, so a leader that never finishes
 * cannot hold followers forever; the key is then free for a new leader.
 */
export type FlightSlot<T> = FlightLeader<T> | FlightFollower<T>;

export interface FlightLeader<T> {
  readonly role: 'leader';
  /** Hands `value` to the followers; `undefined` sends them off on their own. Idempotent. */
  resolve(value: T | undefined): void;
  /** Same as `resolve(undefined)`. */
  fail(): void;
}

export interface FlightFollower<T> {
  readonly role: 'follower';
  /** The leader's value, or undefined when it failed or timed out. Never rejects. */
  readonly wait: Promise<T | undefined>;
}

export interface SingleFlightOptions {
  /** Longest a flight may stay open (a streamed answer can take minutes; default 120 s). */
  timeoutMs?: number;
}

interface Flight<T> {
  promise: Promise<T | undefined>;
  settle(value: T | undefined): void;
  timer: NodeJS.Timeout;
  followers: number;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();
  private readonly timeoutMs: number;
  private counts = { leaders: 0, followers: 0, timeouts: 0 };

  constructor(opts: SingleFlightOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** Leads the flight for `key` if none is open, else follows it. */
  join(key: string): FlightSlot<T> {
    const open = this.flights.get(key);
    if (open) {
      open.followers++;
      this.counts.followers++;
      return { role: 'follower', wait: open.promise };
    }
    this.counts.leaders++;
    const flight = this.open(key);
    const resolve = (value: T | undefined): void => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
      clearTimeout(flight.timer);
      flight.settle(value);
    };
    return { role: 'leader', resolve, fail: () => resolve(undefined) };
  }

  /**
   * For calls whose result is the shared value: the leader runs `fn`, followers get its
   * value, and a follower whose leader failed runs `fn` itself (`alone`). `fn`'s errors reach
   * only the request that ran it.
   */
  async run(key: string, fn: () => Promise<T>): Promise<{ role: 'leader' | 'follower' | 'alone'; value: T }> {
    const slot = this.join(key);
    if (slot.role === 'follower') {
      const value = await slot.wait;
      if (value !== undefined) return { role: 'follower', value };
      return { role: 'alone', value: await fn() };
    }
    try {
      const value = await fn();
      slot.resolve(value);
      return { role: 'leader', value };
    } catch (err) {
      slot.fail();
      throw err;
    }
  }

  /** Open flights (for /metrics and tests). */
  get inFlight(): number {
    return this.flights.size;
  }

  stats(): { inFlight: number; leaders: number; followers: number; timeouts: number } {
    return { inFlight: this.flights.size, ...this.counts };
  }

  private open(key: string): Flight<T> {
    let settle!: (value: T | undefined) => void;
    let settled = false;
    const promise = new Promise<T | undefined>((resolve) => {
      settle = (value) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
    });
    const flight: Flight<T> = {
      promise,
      settle,
      followers: 0,
      timer: setTimeout(() => {
        this.counts.timeouts++;
        if (this.flights.get(key) === flight) this.flights.delete(key);
        flight.settle(undefined);
      }, this.timeoutMs),
    };
    flight.timer.unref();
    this.flights.set(key, flight);
    return flight;
  }
}
