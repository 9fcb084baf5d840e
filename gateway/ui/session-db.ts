import { and, desc, eq, gt, inArray, lte } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { uiSessions } from './schema.ts';
import { newSessionId, seal, sessionIdHash, unseal } from './session-seal.ts';
import { DEFAULT_MAX_SESSIONS, DEFAULT_TTL_MS, plausibleId, type SessionStore, type SessionStoreOptions, type UiSession } from './session.ts';

/**
 * Dashboard sessions in the database (table ui_sessions), so every gateway instance on it knows
 * a session and a sign-out on one ends it on all. One primary-key read per page view; expired
 * rows are deleted at each sign-in, and past `max` sessions the oldest go too.
 *
 * Not a stateless signed cookie: the in-process API is called with the operator's admin key,
 * so such a cookie would have to carry the key (encrypted) in every request, and revoking it at
 * sign-out would still need a shared deny-list, i.e. a table like this one.
 */
export class DbSessionStore implements SessionStore {
  private readonly ttlMs: number;
  private readonly max: number;

  constructor(
    private readonly database: Pick<Database, 'db'>,
    private readonly opts: SessionStoreOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.max = opts.max ?? DEFAULT_MAX_SESSIONS;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  async create(key: string): Promise<string> {
    const id = newSessionId();
    const now = this.opts.clock();
    const { db } = this.database;
    await db.delete(uiSessions).where(lte(uiSessions.expiresAt, new Date(now)));
    await db.insert(uiSessions).values({ idHash: sessionIdHash(id), sealedKey: seal(id, key), createdAt: new Date(now), expiresAt: new Date(now + this.ttlMs) });
    const excess = await db.select({ idHash: uiSessions.idHash }).from(uiSessions).orderBy(desc(uiSessions.createdAt), desc(uiSessions.idHash)).offset(this.max).limit(100);
    if (excess.length > 0) await db.delete(uiSessions).where(inArray(uiSessions.idHash, excess.map((r) => r.idHash)));
    return id;
  }

  async get(id: string | undefined): Promise<UiSession | undefined> {
    if (!plausibleId(id)) return undefined;
    const [row] = await this.database.db
      .select({ sealedKey: uiSessions.sealedKey, expiresAt: uiSessions.expiresAt })
      .from(uiSessions)
      .where(and(eq(uiSessions.idHash, sessionIdHash(id)), gt(uiSessions.expiresAt, new Date(this.opts.clock()))))
      .limit(1);
    const key = row ? unseal(id, row.sealedKey) : undefined;
    return row && key !== undefined ? { key, expiresAt: row.expiresAt.getTime() } : undefined;
  }

  async delete(id: string | undefined): Promise<void> {
    if (!plausibleId(id)) return;
    await this.database.db.delete(uiSessions).where(eq(uiSessions.idHash, sessionIdHash(id)));
  }
}
