import { and, asc, count, desc, eq, isNull, sql } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { appendAudit } from '../../prompts/index.ts';
import type { Db } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { policyColumns, policyView, type PolicyPatch } from './policy.ts';
import { apiKeys, teams, type ApiKeyRow, type KeyScope, type TeamRow } from './schema.ts';

/**
 * The tables behind the KeyStore (DESIGN §4.4): keys and teams created, changed, revoked and
 * deleted, each change audited and NOTIFYed in the transaction that makes it. The KeyStore
 * keeps its memory in step; nothing here caches.
 */

/** Every instance's KeyStore LISTENs here; the payload (`key:<id>`, `team:<id>`) is informative only. */
export const KEYS_CHANNEL = 'sluice_api_keys';

export interface TeamRef {
  id: string;
  name: string;
}

/** A key's row with its team's id and name. */
export type KeyRecord = ApiKeyRow & { team: TeamRef | null };

/** A team's row with how many unrevoked keys belong to it. */
export type TeamRecord = TeamRow & { keyCount: number };

/** What a key may be created with; `team` is a team's id or name. */
export interface KeyInput extends PolicyPatch {
  name: string;
  scope: KeyScope;
  team?: string | null;
  expiresAt?: Date | null;
}

/** PATCH semantics: an absent field is unchanged, `null` clears it. */
export type KeyPatch = Partial<KeyInput>;

export interface TeamInput extends PolicyPatch {
  name: string;
}

export type TeamPatch = Partial<TeamInput>;

/** A key change with the full row of the key's team (null: none), for the KeyStore's memory. */
export interface KeyChange {
  record: KeyRecord;
  team: TeamRow | null;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the audit log keeps of a key: its policy, never its hash. */
const keyAudit = (k: KeyRecord) => ({
  name: k.name,
  scope: k.scope,
  team: k.team,
  ...policyView(k),
  expires_at: k.expiresAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
});
const teamAudit = (t: TeamRow) => ({ name: t.name, ...policyView(t), deleted_at: t.deletedAt?.toISOString() ?? null });

const teamRefOf = (t: Pick<TeamRow, 'id' | 'name'> | null | undefined): TeamRef | null => (t ? { id: t.id, name: t.name } : null);

/** A team by id (UUID-shaped) or name; team names are never UUID-shaped (routes/teams.ts). */
const teamWhere = (ref: string) => (UUID.test(ref) ? eq(teams.id, ref.toLowerCase()) : eq(teams.name, ref));

async function notify(tx: Tx, payload: string): Promise<void> {
  // Sent at commit, so no instance reloads before the change is visible.
  await tx.execute(sql`select pg_notify(${KEYS_CHANNEL}, ${payload})`);
}

/** A team a key is being given: it must exist and not be deleted; locked (shared) until commit so it cannot be deleted meanwhile. */
async function resolveTeam(tx: Tx, ref: string): Promise<TeamRow> {
  const [team] = await tx
    .select()
    .from(teams)
    .where(and(teamWhere(ref), isNull(teams.deletedAt)))
    .for('share');
  if (!team) {
    throw new GatewayError('invalid_request', `Invalid value for 'team': no team '${ref.slice(0, 200)}' (give a team's id or name, as GET /api/teams lists them).`, {
      param: 'team',
    });
  }
  return team;
}

async function countKeys(db: Db | Tx, teamId: string): Promise<number> {
  const [r] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.teamId, teamId), isNull(apiKeys.revokedAt)));
  return Number(r?.n ?? 0);
}

export async function insertKey(db: Db, values: { keyHash: string; prefix: string }, input: KeyInput, actor: string): Promise<KeyChange> {
  return db.transaction(async (tx) => {
    const team = input.team == null ? null : await resolveTeam(tx, input.team);
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id: uuidv7(),
        name: input.name,
        keyHash: values.keyHash,
        prefix: values.prefix,
        scope: input.scope,
        teamId: team?.id ?? null,
        ...policyColumns(input),
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    const record: KeyRecord = { ...row!, team: teamRefOf(team) };
    await appendAudit(tx, { actor, action: 'key.create', subject: `key:${row!.id}`, before: null, after: keyAudit(record) });
    await notify(tx, `key:${row!.id}`);
    return { record, team };
  });
}

const keySelect = { key: apiKeys, team: { id: teams.id, name: teams.name } };

/** Every key, revoked ones too, newest first. */
export async function listKeys(db: Db): Promise<KeyRecord[]> {
  const rows = await db.select(keySelect).from(apiKeys).leftJoin(teams, eq(teams.id, apiKeys.teamId)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  return rows.map((r) => ({ ...r.key, team: teamRefOf(r.team) }));
}

/** One key (revoked too); undefined when there is none. */
export async function getKey(db: Db, id: string): Promise<KeyRecord | undefined> {
  if (!UUID.test(id)) return undefined;
  const [r] = await db
    .select(keySelect)
    .from(apiKeys)
    .leftJoin(teams, eq(teams.id, apiKeys.teamId))
    .where(eq(apiKeys.id, id.toLowerCase()))
    .limit(1);
  return r ? { ...r.key, team: teamRefOf(r.team) } : undefined;
}

/** Changes an unrevoked key; undefined when there is no such key. */
export async function updateKey(db: Db, id: string, patch: KeyPatch, actor: string): Promise<KeyChange | undefined> {
  if (!UUID.test(id)) return undefined;
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, id.toLowerCase()), isNull(apiKeys.revokedAt)))
      .for('update');
    if (!current) return undefined;
    const oldTeam = current.teamId === null ? null : ((await tx.select().from(teams).where(eq(teams.id, current.teamId)))[0] ?? null);
    const before: KeyRecord = { ...current, team: teamRefOf(oldTeam) };
    const team = patch.team === undefined ? oldTeam : patch.team === null ? null : await resolveTeam(tx, patch.team);
    const [row] = await tx
      .update(apiKeys)
      .set({
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.scope === undefined ? {} : { scope: patch.scope }),
        ...(patch.team === undefined ? {} : { teamId: team?.id ?? null }),
        ...(patch.expiresAt === undefined ? {} : { expiresAt: patch.expiresAt }),
        ...policyColumns(patch),
        updatedAt: sql`now()`,
      })
      .where(eq(apiKeys.id, current.id))
      .returning();
    const after: KeyRecord = { ...row!, team: teamRefOf(team) };
    await appendAudit(tx, { actor, action: 'key.update', subject: `key:${current.id}`, before: keyAudit(before), after: keyAudit(after) });
    await notify(tx, `key:${current.id}`);
    return { record: after, team };
  });
}

/** Revokes a key; undefined when there is no such (unrevoked) key. */
export async function revokeKey(db: Db, id: string, at: Date, actor: string): Promise<KeyRecord | undefined> {
  if (!UUID.test(id)) return undefined;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: at, updatedAt: sql`now()` })
      .where(and(eq(apiKeys.id, id.toLowerCase()), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) return undefined;
    const [team] = row.teamId === null ? [] : await tx.select({ id: teams.id, name: teams.name }).from(teams).where(eq(teams.id, row.teamId));
    const after: KeyRecord = { ...row, team: teamRefOf(team) };
    await appendAudit(tx, { actor, action: 'key.revoke', subject: `key:${row.id}`, before: keyAudit({ ...after, revokedAt: null }), after: keyAudit(after) });
    await notify(tx, `key:${row.id}`);
    return after;
  });
}

function teamNameConflict(name: string, deleted: boolean): GatewayError {
  return new GatewayError(
    'conflict',
    deleted
      ? `A deleted team was named '${name.slice(0, 200)}'; team names are not reused, so choose another.`
      : `A team named '${name.slice(0, 200)}' already exists.`,
    { param: 'name' },
  );
}

async function checkTeamNameFree(tx: Tx, name: string, self: string | null): Promise<void> {
  const [other] = await tx.select({ id: teams.id, deletedAt: teams.deletedAt }).from(teams).where(eq(teams.name, name));
  if (other && other.id !== self) throw teamNameConflict(name, other.deletedAt !== null);
}

/** A concurrent create or rename that took the name first trips the unique index. */
const nameTaken = (name: string) => (err: unknown) => {
  if (err instanceof GatewayError) throw err;
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if ((e.code ?? e.cause?.code) === '23505') throw teamNameConflict(name, false);
  throw err;
};

export async function insertTeam(db: Db, input: TeamInput, actor: string): Promise<TeamRow> {
  return db
    .transaction(async (tx) => {
      await checkTeamNameFree(tx, input.name, null);
      const [row] = await tx
        .insert(teams)
        .values({ id: uuidv7(), name: input.name, ...policyColumns(input) })
        .returning();
      await appendAudit(tx, { actor, action: 'team.create', subject: `team:${row!.id}`, before: null, after: teamAudit(row!) });
      await notify(tx, `team:${row!.id}`);
      return row!;
    })
    .catch(nameTaken(input.name));
}

/** Teams not deleted, by name. */
export async function listTeams(db: Db): Promise<TeamRow[]> {
  return db.select().from(teams).where(isNull(teams.deletedAt)).orderBy(asc(teams.name));
}

/** A team (not deleted) by id or name, with its count of unrevoked keys. */
export async function getTeam(db: Db, ref: string): Promise<TeamRecord | undefined> {
  const [row] = await db
    .select()
    .from(teams)
    .where(and(teamWhere(ref), isNull(teams.deletedAt)))
    .limit(1);
  return row && { ...row, keyCount: await countKeys(db, row.id) };
}

/** Changes a team; undefined when there is no such team. */
export async function updateTeam(db: Db, ref: string, patch: TeamPatch, actor: string): Promise<TeamRow | undefined> {
  return db
    .transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(teams)
        .where(and(teamWhere(ref), isNull(teams.deletedAt)))
        .for('update');
      if (!current) return undefined;
      if (patch.name !== undefined && patch.name !== current.name) await checkTeamNameFree(tx, patch.name, current.id);
      const [row] = await tx
        .update(teams)
        .set({ ...(patch.name === undefined ? {} : { name: patch.name }), ...policyColumns(patch), updatedAt: sql`now()` })
        .where(eq(teams.id, current.id))
        .returning();
      await appendAudit(tx, { actor, action: 'team.update', subject: `team:${current.id}`, before: teamAudit(current), after: teamAudit(row!) });
      await notify(tx, `team:${current.id}`);
      return row!;
    })
    .catch(nameTaken(patch.name ?? ref));
}

/**
 * Soft-deletes a team; undefined when there is no such team. A 409 while unrevoked keys still
 * belong to it: the row lock makes a key being added to it concurrently wait, then fail.
 */
export async function deleteTeam(db: Db, ref: string, actor: string): Promise<TeamRow | undefined> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(teams)
      .where(and(teamWhere(ref), isNull(teams.deletedAt)))
      .for('update');
    if (!current) return undefined;
    const n = await countKeys(tx, current.id);
    if (n > 0) {
      const them = n === 1 ? 'it' : 'them';
      throw new GatewayError(
        'conflict',
        `Team '${current.name}' still has ${n} unrevoked key${n === 1 ? '' : 's'}; revoke ${them} or move ${them} to another team (PATCH /api/keys/{id} with "team") first.`,
      );
    }
    const [row] = await tx.update(teams).set({ deletedAt: sql`now()`, updatedAt: sql`now()` }).where(eq(teams.id, current.id)).returning();
    await appendAudit(tx, { actor, action: 'team.delete', subject: `team:${current.id}`, before: teamAudit(current), after: teamAudit(row!) });
    await notify(tx, `team:${current.id}`);
    return row!;
  });
}
