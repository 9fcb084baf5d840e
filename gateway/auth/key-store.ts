import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { serialized, startRefresher, type Refresher } from '../../core/refresher.ts';
import type { Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { apiKeys, type ApiKeyRow, type KeyScope } from './schema.ts';

function withTimeout<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    Promise.resolve(promise).then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

export interface AuthenticatedKey {
  /** Null for the SLUICE_ADMIN_KEY, which lives in env, not in the table. */
  id: string | null;
  name: string;
  scope: KeyScope;
}

export interface MintedKey {
  row: ApiKeyRow;
  /** The secret itself; returned once and never stored. */
  key: string;
}

const KEYS_CHANNEL = 'sluice_api_keys';

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * Gateway keys served from memory: the request path hashes the presented key and looks the
 * hash up in a Map, never waiting on Postgres for a known key. Changes reach other instances
 * through NOTIFY (or polling where the driver cannot LISTEN); a key minted elsewhere and not
 * yet seen here is looked up once in the database.
 *
 * A revocation must never be missed: a NOTIFY sent while this instance's LISTEN connection is
 * down is lost, so every re-LISTEN reloads, and a safety poll reloads every few seconds
 * regardless (prompts/refresher.ts). A revoked key thus stops working everywhere within the
 * safety poll period at worst.
 */
export class KeyStore {
  private byHash = new Map<string, { id: string; name: string; scope: KeyScope; hash: Buffer }>();
  private readonly adminHash: Buffer | null;
  private readonly localAdminHash: Buffer | null;
  private readonly touched = new Set<string>();
  private readonly misses = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private refresher: Refresher | undefined;
  /** Full reloads, one at a time; a call during one shares the next (which reads after the call). */
  private readonly reloadOnce = serialized(() => this.load());
  /** Hashes revoked here that no completed reload has read yet: a reload whose read began before the revocation must not bring them back. */
  private readonly pendingRevocations = new Set<string>();
  /** Bumped on every reload and local revocation: a slow look-up whose read may predate it does not cache its row. */
  private generation = 0;

  constructor(
    private readonly database: Database,
    opts: {
      adminKey?: string | undefined;
      /** The embedded server's local admin token (SLUICE_DATA_DIR/admin.token), for the CLI on this machine. */
      localAdminKey?: string | undefined;
      now?: () => number;
    },
  ) {
    this.adminHash = opts.adminKey ? hashKey(opts.adminKey) : null;
    this.localAdminHash = opts.localAdminKey ? hashKey(opts.localAdminKey) : null;
    this.now = opts.now ?? Date.now;
  }

  private readonly now: () => number;

  /**
   * LISTENs (reloading on every NOTIFY and every re-LISTEN), loads the keys, starts the polls.
   * `pollMs`: reload period where LISTEN is unavailable (PGlite), default 2 s. `safetyPollMs`:
   * reload period while LISTENing, default 5 s — the bound on how long a revocation whose
   * NOTIFY was lost can go unseen.
   */
  async start(
    opts: { pollMs?: number; safetyPollMs?: number; touchFlushMs?: number; onError?: (err: unknown) => void } = {},
  ): Promise<void> {
    const onError = opts.onError ?? (() => {});
    this.refresher = await startRefresher({
      source: this.database,
      channel: KEYS_CHANNEL,
      onNotify: () => void this.reload().catch(onError),
      refresh: () => this.reload(),
      pollIntervalMs: opts.pollMs ?? 2_000,
      safetyPollIntervalMs: opts.safetyPollMs ?? 5_000,
      onError,
    });
    await this.reload();
    this.timers.push(setInterval(() => void this.flushTouched().catch(() => {}), opts.touchFlushMs ?? 10_000).unref());
  }

  /** True when changes arrive by LISTEN/NOTIFY (the poll is then only the safety net). */
  get listening(): boolean {
    return this.refresher?.listening ?? false;
  }

  async stop(): Promise<void> {
    this.refresher?.stop();
    this.refresher = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.flushTouched().catch(() => {});
  }

  /** Re-reads every active key. One at a time; resolves after a read that began after the call. */
  reload(): Promise<void> {
    return this.reloadOnce();
  }

  private async load(): Promise<void> {
    const settled = [...this.pendingRevocations];
    const rows = await this.database.db.select().from(apiKeys).where(isNull(apiKeys.revokedAt));
    const next = new Map<string, { id: string; name: string; scope: KeyScope; hash: Buffer }>();
    for (const r of rows) {
      if (this.pendingRevocations.has(r.keyHash)) continue;
      next.set(r.keyHash, { id: r.id, name: r.name, scope: r.scope, hash: Buffer.from(r.keyHash, 'hex') });
    }
    this.byHash = next;
    this.generation++;
    // Revoked before this read began, so the read already saw them revoked.
    for (const h of settled) this.pendingRevocations.delete(h);
  }

  /** The hot path: synchronous, no I/O. Undefined when the key is not known in memory. */
  lookup(key: string): AuthenticatedKey | undefined {
    const hash = hashKey(key);
    if (this.adminHash && timingSafeEqual(hash, this.adminHash)) return { id: null, name: 'SLUICE_ADMIN_KEY', scope: 'admin' };
    if (this.localAdminHash && timingSafeEqual(hash, this.localAdminHash)) return { id: null, name: 'local admin token', scope: 'admin' };
    const hex = hash.toString('hex');
    const hit = this.byHash.get(hex);
    // The Map finds the entry by hash; the constant-time compare keeps the final check free of early exits.
    if (!hit || !timingSafeEqual(hash, hit.hash)) return undefined;
    this.touched.add(hit.id);
    return { id: hit.id, name: hit.name, scope: hit.scope };
  }

  /** For a key not in memory: one database look-up, with a short negative cache against floods. */
  async lookupSlow(key: string): Promise<AuthenticatedKey | undefined> {
    const hex = hashKey(key).toString('hex');
    const missedAt = this.misses.get(hex);
    if (missedAt !== undefined && this.now() - missedAt < 5_000) return undefined;
    // The one place a request may wait on Postgres: bounded, and a database outage is a 503
    // (retryable), not a 500 and not a hung request.
    let row: ApiKeyRow | undefined;
    const generation = this.generation;
    try {
      [row] = await withTimeout(this.database.db.select().from(apiKeys).where(eq(apiKeys.keyHash, hex)).limit(1), 1_000);
    } catch {
      throw new GatewayError('service_unavailable', 'The key could not be checked right now; try again shortly.');
    }
    if (!row || row.revokedAt) {
      if (this.misses.size > 10_000) this.misses.clear();
      this.misses.set(hex, this.now());
      return undefined;
    }
    // A reload or revocation since the read began may know better: answer, but do not cache.
    if (generation !== this.generation) return { id: row.id, name: row.name, scope: row.scope };
    this.byHash.set(hex, { id: row.id, name: row.name, scope: row.scope, hash: Buffer.from(hex, 'hex') });
    return this.lookup(key);
  }

  async mint(input: { name: string; scope: KeyScope; rateLimitRpm?: number | undefined }): Promise<MintedKey> {
    const key = `sk-sluice-${randomBytes(24).toString('base64url')}`;
    const hex = hashKey(key).toString('hex');
    const [row] = await this.database.db
      .insert(apiKeys)
      .values({
        id: uuidv7(),
        name: input.name,
        keyHash: hex,
        prefix: key.slice(0, 14),
        scope: input.scope,
        rateLimitRpm: input.rateLimitRpm ?? null,
      })
      .returning();
    this.byHash.set(hex, { id: row!.id, name: row!.name, scope: row!.scope, hash: Buffer.from(hex, 'hex') });
    this.misses.delete(hex);
    await this.database.notify(KEYS_CHANNEL, row!.id).catch(() => {});
    return { row: row!, key };
  }

  async list(): Promise<ApiKeyRow[]> {
    return this.database.db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  }

  /** Revokes a key; undefined when there is no such (unrevoked) key. */
  async revoke(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.database.db
      .update(apiKeys)
      .set({ revokedAt: new Date(this.now()) })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) return undefined;
    this.byHash.delete(row.keyHash);
    this.pendingRevocations.add(row.keyHash);
    this.generation++;
    await this.database.notify(KEYS_CHANNEL, id).catch(() => {});
    return row;
  }

  private async flushTouched(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched.clear();
    const at = new Date(this.now());
    for (const id of ids) await this.database.db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
  }
}
