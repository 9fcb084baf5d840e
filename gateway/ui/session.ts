import { newSessionId } from './session-seal.ts';

export interface UiSession {
  /** The admin key the operator signed in with; only ever sent to the in-process API. */
  key: string;
  expiresAt: number;
}

/**
 * Where the dashboard's sessions live. The cookie holds only a random id (256 bits); the key
 * stays on the server side. `create` returns that id.
 */
export interface SessionStore {
  readonly maxAgeSeconds: number;
  create(key: string): Promise<string>;
  get(id: string | undefined): Promise<UiSession | undefined>;
  /** Sign-out: the id stops working at once, everywhere the store is seen. */
  delete(id: string | undefined): Promise<void>;
}

export interface SessionStoreOptions {
  clock: () => number;
  /** Lifetime of a session from sign-in (absolute, not sliding). */
  ttlMs?: number;
  /** Oldest sessions are dropped past this many (a bound on memory and rows). */
  max?: number;
}

export const COOKIE = 'sluice_ui';
export const DEFAULT_TTL_MS = 8 * 3_600_000;
export const DEFAULT_MAX_SESSIONS = 1_000;

/** A cookie value worth looking up: what newSessionId makes (anything else is not a session). */
export const plausibleId = (id: string | undefined): id is string => id !== undefined && /^[A-Za-z0-9_-]{43}$/.test(id);

/**
 * Sessions in this process's memory: a restart signs everyone out and a second instance does
 * not know them. For an app without a database (tests); the gateway uses DbSessionStore.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, UiSession>();
  private readonly ttlMs: number;
  private readonly max: number;

  constructor(private readonly opts: SessionStoreOptions) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.max = opts.max ?? DEFAULT_MAX_SESSIONS;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  async create(key: string): Promise<string> {
    const id = newSessionId();
    this.sessions.set(id, { key, expiresAt: this.opts.clock() + this.ttlMs });
    while (this.sessions.size > this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    return id;
  }

  async get(id: string | undefined): Promise<UiSession | undefined> {
    if (!plausibleId(id)) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.opts.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  async delete(id: string | undefined): Promise<void> {
    if (id) this.sessions.delete(id);
  }
}
