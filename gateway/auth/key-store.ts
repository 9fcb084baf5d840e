import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq, isNull } from 'drizzle-orm';
import { serialized, startRefresher, type Refresher } from '../../core/refresher.ts';
import type { Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Policy } from '../governance/types.ts';
import * as tables from './key-tables.ts';
import type { KeyChange, KeyInput, KeyPatch, KeyRecord, TeamInput, TeamPatch, TeamRecord } from './key-tables.ts';
import { policyOf } from './policy.ts';
import { apiKeys, teams, type ApiKeyRow, type KeyScope, type TeamRow } from './schema.ts';

export type { KeyInput, KeyPatch, KeyRecord, TeamInput, TeamPatch, TeamRecord, TeamRef } from './key-tables.ts';

function withTimeout<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    Promise.resolve(promise).then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** A team as the request path sees it. */
export interface KeyTeam {
  readonly id: string;
  readonly name: string;
  readonly policy: Policy;
}

/** Who is calling, ready on the hot path (frozen, shared between requests). */
export interface AuthenticatedKey {
  /** Null for the SLUICE_ADMIN_KEY (and the local admin token), which live outside the table. */
  readonly id: string | null;
  readonly name: string;
  readonly scope: KeyScope;
  /** The key's own policy; null for the env and local admin keys: unlimited. */
  readonly policy: Policy | null;
  readonly team: KeyTeam | null;
}

export interface MintedKey {
  row: KeyRecord;
  /** The secret itself; returned once and never stored. */
  key: string;
}

/** Where unattributed changes come from (a test, a script): the audit log always names someone. */
const SYSTEM = 'system';

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

interface Entry {
  hash: Buffer;
  teamId: string | null;
  /** Epoch ms; null: never expires. */
  expiresAt: number | null;
  auth: AuthenticatedKey;
}

const ENV_ADMIN: AuthenticatedKey = Object.freeze({ id: null, name: 'SLUICE_ADMIN_KEY', scope: 'admin', policy: null, team: null });
const LOCAL_ADMIN: AuthenticatedKey = Object.freeze({ id: null, name: 'local admin token', scope: 'admin', policy: null, team: null });

const teamOf = (row: TeamRow): KeyTeam => Object.freeze({ id: row.id, name: row.name, policy: policyOf(row) });

function entryOf(row: ApiKeyRow, team: KeyTeam | null): Entry {
  return {
    hash: Buffer.from(row.keyHash, 'hex'),
    teamId: row.teamId,
    expiresAt: row.expiresAt?.getTime() ?? null,
    auth: Object.freeze({ id: row.id, name: row.name, scope: row.scope, policy: policyOf(row), team }),
  };
}

/**
 * Gateway keys and teams served from memory: the request path hashes the presented key and
 * looks the hash up in a Map, never waiting on Postgres for a known key; the key's policy and
 * its team's come with it, precomputed. Changes reach other instances through NOTIFY (or
 * polling where the driver cannot LISTEN); a key minted elsewhere and not yet seen here is
 * looked up once in the database.
 *
 * A revocation must never be missed: a NOTIFY sent while this instance's LISTEN connection is
 * down is lost, so every re-LISTEN reloads, and a safety poll reloads every few seconds
 * regardless (prompts/refresher.ts). A revoked key thus stops working everywhere within the
 * safety poll period at worst. Every change is audited in the transaction that makes it.
 */
export class KeyStore {
  private byHash = new Map<string, Entry>();
  /** Every team, deleted ones too (a key's team is always here once loaded). */
  private teamsById = new Map<string, KeyTeam>();
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
  private readonly now: () => number;

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
      channel: tables.KEYS_CHANNEL,
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

  /** Re-reads every active key and every team. One at a time; resolves after a read that began after the call. */
  reload(): Promise<void> {
    return this.reloadOnce();
  }

  private async load(): Promise<void> {
    const settled = [...this.pendingRevocations];
    const { db } = this.database;
    const rows = await db.select().from(apiKeys).where(isNull(apiKeys.revokedAt));
    // Read after the keys: every team a key read above names exists by now (a team is never removed).
    const teamRows = await db.select().from(teams);
    const nextTeams = new Map(teamRows.map((t) => [t.id, teamOf(t)]));
    const next = new Map<string, Entry>();
    for (const r of rows) {
      if (this.pendingRevocations.has(r.keyHash)) continue;
      const team = r.teamId === null ? null : nextTeams.get(r.teamId);
      // A team missing here is a broken row: leave the key to lookupSlow, which refuses it.
      if (team === undefined) continue;
      next.set(r.keyHash, entryOf(r, team));
    }
    this.byHash = next;
    this.teamsById = nextTeams;
    this.generation++;
    // Revoked before this read began, so the read already saw them revoked.
    for (const h of settled) this.pendingRevocations.delete(h);
  }

  /** The hot path: synchronous, no I/O. Undefined when the key is not known in memory, or expired. */
  lookup(key: string): AuthenticatedKey | undefined {
    const hash = hashKey(key);
    if (this.adminHash && timingSafeEqual(hash, this.adminHash)) return ENV_ADMIN;
    if (this.localAdminHash && timingSafeEqual(hash, this.localAdminHash)) return LOCAL_ADMIN;
    const hit = this.byHash.get(hash.toString('hex'));
    // The Map finds the entry by hash; the constant-time compare keeps the final check free of early exits.
    if (!hit || !timingSafeEqual(hash, hit.hash)) return undefined;
    if (hit.expiresAt !== null && hit.expiresAt <= this.now()) return undefined;
    this.touched.add(hit.auth.id!);
    return hit.auth;
  }

  /** When a known, unrevoked key has expired: the time it did (for the 401's message). Memory only. */
  expiredAt(key: string): Date | undefined {
    const hit = this.byHash.get(hashKey(key).toString('hex'));
    return hit?.expiresAt != null && hit.expiresAt <= this.now() ? new Date(hit.expiresAt) : undefined;
  }

  /** For a key not in memory: one database look-up, with a short negative cache against floods. */
  async lookupSlow(key: string): Promise<AuthenticatedKey | undefined> {
    const hex = hashKey(key).toString('hex');
    // Known here (an expired key): memory answers, the database is not asked on every request.
    if (this.byHash.has(hex)) return this.lookup(key);
    const missedAt = this.misses.get(hex);
    if (missedAt !== undefined && this.now() - missedAt < 5_000) return undefined;
    // The one place a request may wait on Postgres: bounded, and a database outage is a 503
    // (retryable), not a 500 and not a hung request.
    let found: { key: ApiKeyRow; team: TeamRow | null } | undefined;
    const generation = this.generation;
    try {
      [found] = await withTimeout(
        this.database.db.select({ key: apiKeys, team: teams }).from(apiKeys).leftJoin(teams, eq(teams.id, apiKeys.teamId)).where(eq(apiKeys.keyHash, hex)).limit(1),
        1_000,
      );
    } catch {
      throw new GatewayError('service_unavailable', 'The key could not be checked right now; try again shortly.');
    }
    if (!found || found.key.revokedAt || (found.key.teamId !== null && !found.team)) {
      if (this.misses.size > 10_000) this.misses.clear();
      this.misses.set(hex, this.now());
      return undefined;
    }
    const entry = entryOf(found.key, found.team ? (this.teamsById.get(found.team.id) ?? teamOf(found.team)) : null);
    // A reload or revocation since the read began may know better: answer, but do not cache.
    if (generation !== this.generation) return entry.expiresAt !== null && entry.expiresAt <= this.now() ? undefined : entry.auth;
    this.byHash.set(hex, entry);
    return this.lookup(key);
  }

  async mint(input: KeyInput, actor: string = SYSTEM): Promise<MintedKey> {
    const key = `sk-sluice-${randomBytes(24).toString('base64url')}`;
    const hex = hashKey(key).toString('hex');
    const change = await tables.insertKey(this.database.db, { keyHash: hex, prefix: key.slice(0, 14) }, input, actor);
    this.remember(change);
    this.misses.delete(hex);
    return { row: change.record, key };
  }

  /** Every key, revoked ones too, newest first. */
  list(): Promise<KeyRecord[]> {
    return tables.listKeys(this.database.db);
  }

  /** One key (revoked too); undefined when there is none. */
  get(id: string): Promise<KeyRecord | undefined> {
    return tables.getKey(this.database.db, id);
  }

  /** Changes an unrevoked key (PATCH semantics); undefined when there is no such key. Audited as `key.update`. */
  async update(id: string, patch: KeyPatch, actor: string = SYSTEM): Promise<KeyRecord | undefined> {
    if (Object.keys(patch).length === 0) {
      const current = await this.get(id);
      return current?.revokedAt === null ? current : undefined;
    }
    const change = await tables.updateKey(this.database.db, id, patch, actor);
    if (change) this.remember(change);
    return change?.record;
  }

  /** Revokes a key; undefined when there is no such (unrevoked) key. Audited as `key.revoke`. */
  async revoke(id: string, actor: string = SYSTEM): Promise<KeyRecord | undefined> {
    const record = await tables.revokeKey(this.database.db, id, new Date(this.now()), actor);
    if (!record) return undefined;
    this.byHash.delete(record.keyHash);
    this.pendingRevocations.add(record.keyHash);
    this.generation++;
    return record;
  }

  /** Audited as `team.create`; a 409 when the name is taken (deleted teams' names too). */
  async createTeam(input: TeamInput, actor: string = SYSTEM): Promise<TeamRow> {
    const row = await tables.insertTeam(this.database.db, input, actor);
    this.rememberTeam(row);
    return row;
  }

  /** Teams not deleted, by name. */
  listTeams(): Promise<TeamRow[]> {
    return tables.listTeams(this.database.db);
  }

  /** A team (not deleted) by id or name, with its count of unrevoked keys. */
  getTeam(ref: string): Promise<TeamRecord | undefined> {
    return tables.getTeam(this.database.db, ref);
  }

  /** Changes a team (PATCH semantics); undefined when there is no such team. Audited as `team.update`. */
  async updateTeam(ref: string, patch: TeamPatch, actor: string = SYSTEM): Promise<TeamRow | undefined> {
    if (Object.keys(patch).length === 0) return this.getTeam(ref);
    const row = await tables.updateTeam(this.database.db, ref, patch, actor);
    if (row) this.rememberTeam(row);
    return row;
  }

  /** Soft-deletes a team (audited as `team.delete`); undefined when there is none; a 409 while unrevoked keys belong to it. */
  deleteTeam(ref: string, actor: string = SYSTEM): Promise<TeamRow | undefined> {
    return tables.deleteTeam(this.database.db, ref, actor);
  }

  /** This instance sees its own change at once; other instances reload on the NOTIFY. */
  private remember({ record, team }: KeyChange): void {
    if (team) this.rememberTeam(team);
    const teamView = record.teamId === null ? null : (this.teamsById.get(record.teamId) ?? null);
    this.byHash.set(record.keyHash, entryOf(record, teamView));
    this.refreshSoon();
  }

  private rememberTeam(row: TeamRow): void {
    const team = teamOf(row);
    this.teamsById.set(row.id, team);
    for (const [hash, e] of this.byHash) {
      if (e.teamId === row.id) this.byHash.set(hash, { ...e, auth: Object.freeze({ ...e.auth, team }) });
    }
    this.refreshSoon();
  }

  /**
   * A reload whose read began before a local change could put the old view back: one more,
   * after it, sets it right. While LISTENing, our own NOTIFY triggers that reload already.
   */
  private refreshSoon(): void {
    if (this.refresher && !this.refresher.listening) void this.reload().catch(() => {});
  }

  private async flushTouched(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched.clear();
    const at = new Date(this.now());
    for (const id of ids) await this.database.db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
  }
}

