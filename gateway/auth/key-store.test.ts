import { asc, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../prompts/schema.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { Database } from '../db/client.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { KeyStore } from './key-store.ts';

/** Waits for a condition (a failure bound, not a measured duration). */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe.each(testDatabases())('KeyStore policies and teams on $kind', ({ open }) => {
  let database: Database;
  let now = Date.parse('2026-01-01T00:00:00Z');
  const stores: KeyStore[] = [];
  let seq = 0;
  const unique = (s: string) => `${s}-${++seq}`;

  async function started(opts: { adminKey?: string } = {}): Promise<KeyStore> {
    const store = new KeyStore(database, { ...opts, now: () => now });
    await store.start({ pollMs: 50, safetyPollMs: 200 });
    stores.push(store);
    return store;
  }

  const audits = async (subject: string) =>
    database.db.select().from(auditLog).where(eq(auditLog.subject, subject)).orderBy(asc(auditLog.at), asc(auditLog.id));

  beforeAll(async () => {
    database = await open();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.stop();
    now = Date.parse('2026-01-01T00:00:00Z');
  });
  afterAll(async () => {
    await database?.close();
  });

  it('serves the key policy and its team policy from memory, precomputed', async () => {
    const store = await started({ adminKey: 'sk-env-admin' });
    const team = await store.createTeam({ name: unique('support'), budget: { usd: 100, period: 'month' }, rpm: 600, models: ['openai/*'] }, 'tester');
    const minted = await store.mint(
      { name: 'bot', scope: 'inference', team: team.name, budget: { usd: 25, period: 'week' }, tpm: 10_000, prompts: ['support*'], metadata: { owner: 'ml' } },
      'tester',
    );
    expect(minted.row.team).toEqual({ id: team.id, name: team.name });
    expect(minted.row.teamId).toBe(team.id);

    const found = store.lookup(minted.key);
    expect(found).toEqual({
      id: minted.row.id,
      name: 'bot',
      scope: 'inference',
      policy: { budget: { usd: 25, period: 'week' }, rpm: null, tpm: 10_000, models: null, prompts: ['support*'] },
      team: { id: team.id, name: team.name, policy: { budget: { usd: 100, period: 'month' }, rpm: 600, tpm: null, models: ['openai/*'], prompts: null } },
    });
    // The same frozen object every time: nothing is built per request.
    expect(store.lookup(minted.key)).toBe(found);
    expect(Object.isFrozen(found)).toBe(true);

    // A fresh instance loads the same from the tables.
    const other = await started();
    expect(other.lookup(minted.key)).toEqual(found);

    // The env admin key is unlimited.
    expect(store.lookup('sk-env-admin')).toEqual({ id: null, name: 'SLUICE_ADMIN_KEY', scope: 'admin', policy: null, team: null });

    // A key without a team or limits has an all-null policy and no team.
    const plain = await store.mint({ name: 'plain', scope: 'admin' });
    expect(store.lookup(plain.key)).toMatchObject({ policy: { budget: null, rpm: null, tpm: null, models: null, prompts: null }, team: null });
  });

  it('a key minted elsewhere is found by the slow path with its team', async () => {
    const writer = new KeyStore(database, {});
    const team = await writer.createTeam({ name: unique('elsewhere'), rpm: 5 });
    const minted = await writer.mint({ name: 'remote', scope: 'inference', team: team.id });
    // Never started, so nothing in memory and no NOTIFY to race with.
    const reader = new KeyStore(database, {});
    expect(reader.lookup(minted.key)).toBeUndefined();
    const found = await reader.lookupSlow(minted.key);
    expect(found).toMatchObject({ id: minted.row.id, team: { id: team.id, policy: { rpm: 5 } } });
    // Cached: memory answers from now on.
    expect(reader.lookup(minted.key)).toBe(found);
  });

  it('a PATCH reaches another instance (NOTIFY on Postgres, its poll on PGlite) and is audited without the hash', async () => {
    const a = await started();
    const b = await started();
    const minted = await a.mint({ name: 'patched', scope: 'inference', rpm: 10, models: ['openai/*'] }, 'alice');
    await until(() => b.lookup(minted.key) !== undefined, 5_000, 'b sees the new key');

    const updated = await a.update(minted.row.id, { rpm: null, tpm: 500, models: null, budget: { usd: 3, period: 'day' }, metadata: { a: 'b' } }, 'bob');
    expect(updated).toMatchObject({ rpm: null, tpm: 500, models: null, budgetUsd: 3, budgetPeriod: 'day', metadata: { a: 'b' }, prompts: null });
    expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(minted.row.updatedAt.getTime());
    const want = { budget: { usd: 3, period: 'day' }, rpm: null, tpm: 500, models: null, prompts: null };
    // This instance at once; the other one after its reload.
    expect(a.lookup(minted.key)?.policy).toEqual(want);
    await until(() => JSON.stringify(b.lookup(minted.key)?.policy) === JSON.stringify(want), 5_000, 'b sees the PATCH');

    // Absent fields are unchanged; an empty patch changes nothing.
    expect(await a.update(minted.row.id, { name: 'renamed' }, 'bob')).toMatchObject({ name: 'renamed', tpm: 500, budgetUsd: 3 });
    expect(await a.update(minted.row.id, {}, 'bob')).toMatchObject({ name: 'renamed', tpm: 500 });

    const rows = await audits(`key:${minted.row.id}`);
    expect(rows.map((r) => [r.action, r.actor])).toEqual([
      ['key.create', 'alice'],
      ['key.update', 'bob'],
      ['key.update', 'bob'],
    ]);
    expect(rows[1]!.before).toMatchObject({ name: 'patched', rate_limits: { rpm: 10, tpm: null }, models: ['openai/*'], budget: null });
    expect(rows[1]!.after).toMatchObject({ rate_limits: { rpm: null, tpm: 500 }, models: null, budget: { usd: 3, period: 'day' }, metadata: { a: 'b' } });
    const text = JSON.stringify(rows);
    expect(text).not.toContain(minted.row.keyHash);
    expect(text).not.toContain(minted.key);
  });

  it('a team change reaches the keys of that team, here and elsewhere', async () => {
    const a = await started();
    const b = await started();
    const team = await a.createTeam({ name: unique('growth') }, 'alice');
    const minted = await a.mint({ name: 'member', scope: 'inference', team: team.name });
    await until(() => b.lookup(minted.key) !== undefined, 5_000, 'b sees the key');
    expect(await a.updateTeam(team.name, { budget: { usd: 9, period: 'total' }, name: `${team.name}-x` }, 'carol')).toMatchObject({ budgetUsd: 9, name: `${team.name}-x` });
    expect(a.lookup(minted.key)?.team).toMatchObject({ name: `${team.name}-x`, policy: { budget: { usd: 9, period: 'total' } } });
    await until(() => b.lookup(minted.key)?.team?.policy.budget?.usd === 9, 5_000, 'b sees the team change');
    expect(b.lookup(minted.key)?.team?.name).toBe(`${team.name}-x`);

    // Moving the key out of the team, and into it again by id.
    expect((await a.update(minted.row.id, { team: null }))?.team).toBeNull();
    expect(a.lookup(minted.key)?.team).toBeNull();
    expect((await a.update(minted.row.id, { team: team.id }))?.team).toEqual({ id: team.id, name: `${team.name}-x` });

    const rows = await audits(`team:${team.id}`);
    expect(rows.map((r) => r.action)).toEqual(['team.create', 'team.update']);
    expect(rows[1]).toMatchObject({ actor: 'carol', before: { name: team.name, budget: null }, after: { name: `${team.name}-x`, budget: { usd: 9, period: 'total' } } });
  });

  it('an expired key is refused like an unknown one, and says when it expired', async () => {
    const store = await started();
    const at = new Date(now + 60_000);
    const minted = await store.mint({ name: 'short-lived', scope: 'inference', expiresAt: at });
    expect(store.lookup(minted.key)).toBeDefined();
    expect(store.expiredAt(minted.key)).toBeUndefined();
    now = at.getTime();
    expect(store.lookup(minted.key)).toBeUndefined();
    expect(await store.lookupSlow(minted.key)).toBeUndefined();
    expect(store.expiredAt(minted.key)).toEqual(at);
    expect(store.expiredAt('sk-sluice-unknown')).toBeUndefined();

    // Another instance that never saw it: the slow path reads it expired, and then knows why.
    const other = new KeyStore(database, { now: () => now });
    expect(await other.lookupSlow(minted.key)).toBeUndefined();
    expect(other.expiredAt(minted.key)).toEqual(at);

    // Extending it brings it back.
    await store.update(minted.row.id, { expiresAt: null });
    expect(store.lookup(minted.key)?.id).toBe(minted.row.id);
  });

  it('a team must exist and not be deleted; a failed change writes nothing', async () => {
    const store = await started();
    const err = await rejection(store.mint({ name: 'orphan', scope: 'inference', team: 'no-such-team' }));
    expect(err).toMatchObject({ code: 'invalid_request', param: 'team' });
    expect(err.message).toContain("'no-such-team'");
    expect((await store.list()).map((k) => k.name)).not.toContain('orphan');

    const minted = await store.mint({ name: 'stays', scope: 'inference', rpm: 7 });
    await rejection(store.update(minted.row.id, { team: '01890000-0000-7000-8000-000000000000', rpm: 8 }));
    expect(await store.get(minted.row.id)).toMatchObject({ rpm: 7, teamId: null });
    expect((await audits(`key:${minted.row.id}`)).map((r) => r.action)).toEqual(['key.create']);
  });

  it('deleting a team is refused while unrevoked keys belong to it, naming how many', async () => {
    const store = await started();
    const team = await store.createTeam({ name: unique('doomed') });
    const k1 = await store.mint({ name: 'k1', scope: 'inference', team: team.name });
    const k2 = await store.mint({ name: 'k2', scope: 'inference', team: team.name });
    expect(await store.getTeam(team.name)).toMatchObject({ id: team.id, keyCount: 2 });

    const err = await rejection(store.deleteTeam(team.id));
    expect(err.code).toBe('conflict');
    expect(err.status).toBe(409);
    expect(err.message).toContain('2 unrevoked keys');

    expect(await store.revoke(k1.row.id, 'dave')).toMatchObject({ id: k1.row.id, team: { id: team.id } });
    await store.update(k2.row.id, { team: null });
    expect(await store.getTeam(team.id)).toMatchObject({ keyCount: 0 });
    const deleted = await store.deleteTeam(team.id, 'dave');
    expect(deleted?.deletedAt).toBeInstanceOf(Date);

    expect(await store.getTeam(team.id)).toBeUndefined();
    expect(await store.deleteTeam(team.id)).toBeUndefined();
    expect(await store.updateTeam(team.id, { rpm: 1 })).toBeUndefined();
    expect((await store.listTeams()).map((t) => t.id)).not.toContain(team.id);
    expect((await rejection(store.mint({ name: 'late', scope: 'inference', team: team.name }))).param).toBe('team');
    // Deleted names stay taken (the name column is unique).
    expect((await rejection(store.createTeam({ name: team.name }))).message).toContain('deleted team');

    expect((await audits(`team:${team.id}`)).map((r) => r.action)).toEqual(['team.create', 'team.delete']);
    expect((await audits(`key:${k1.row.id}`)).map((r) => [r.action, r.actor])).toEqual([
      ['key.create', 'system'],
      ['key.revoke', 'dave'],
    ]);
  });

  it('team names are unique', async () => {
    const store = await started();
    const name = unique('dup');
    await store.createTeam({ name });
    const err = await rejection(store.createTeam({ name }));
    expect(err).toMatchObject({ code: 'conflict', param: 'name' });
    const other = await store.createTeam({ name: unique('other') });
    expect((await rejection(store.updateTeam(other.id, { name }))).code).toBe('conflict');
  });
});
