import { randomBytes } from 'node:crypto';

export interface UiSession {
  /** The admin key the operator signed in with; only ever sent to the in-process API. */
  key: string;
  expiresAt: number;
}

export interface SessionStoreOptions {
  clock: () => number;
  /** Lifetime of a session from sign-in (absolute, not sliding). */
  ttlMs?: number;
  /** Oldest sessions are dropped past this many (a bound on memory). */
  max?: number;
}

export const COOKIE = 'sluice_ui';
const DEFAULT_TTL_MS = 8 * 3_600_000;
const DEFAULT_MAX = 1_000;

/**
 * Server-side sessions of the dashboard. The cookie holds only a random id (256 bits); the
 * key stays in this process's memory, so a restart signs everyone out, which is the safe
 * failure for an admin console.
 */
export class SessionStore {
  private readonly sessions = new Map<string, UiSession>();
  private readonly ttlMs: number;
  private readonly max: number;

  constructor(private readonly opts: SessionStoreOptions) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.max = opts.max ?? DEFAULT_MAX;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  create(key: string): string {
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { key, expiresAt: this.opts.clock() + this.ttlMs });
    while (this.sessions.size > this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    return id;
  }

  get(id: string | undefined): UiSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.opts.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}
