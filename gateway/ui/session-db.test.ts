import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, testDatabases } from '../../test/helpers/test-db.ts';
import { openDatabase, rowsOf, type Database } from '../db/client.ts';
import type { ApiFetch } from './api-client.ts';
import { uiRoutes } from './index.ts';
import { DbSessionStore } from './session-db.ts';
import { seal, unseal } from './session-seal.ts';

const ADMIN = 'sk-admin-secret-for-ui-session-tests-01';
const ORIGIN = 'http://localhost';

const api: ApiFetch = (path, init) => {
  if (new Headers(init.headers).get('authorization') !== `Bearer ${ADMIN}`) return Response.json({ error: { message: 'bad key' } }, { status: 401 });
  if (path.startsWith('/api/routes')) return Response.json({ object: 'list', data: [] });
  return Response.json({ error: { message: 'not here' } }, { status: 404 });
};

/** Two dashboards on one database, as two gateway instances would be (two pools on a server). */
async function twoInstances(kind: 'pglite' | 'postgres', open: () => Promise<Database>) {
  if (kind === 'pglite') {
    const database = await open();
    return { a: database, b: database, close: () => database.close() };
  }
  const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
  const a = await openDatabase({ url: scratch.url, max: 2 });
  await a.migrate();
  const b = await openDatabase({ url: scratch.url, max: 2 });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      await scratch.drop();
    },
  };
}

const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0]!;

describe.each(testDatabases())('dashboard sessions in the database ($kind)', (target) => {
  let dbs: Awaited<ReturnType<typeof twoInstances>>;
  const now = { t: Date.UTC(2026, 2, 1) };
  const clock = () => now.t;
  let one: ReturnType<typeof uiRoutes>;
  let two: ReturnType<typeof uiRoutes>;

  beforeAll(async () => {
    dbs = await twoInstances(target.kind, target.open);
    one = uiRoutes({ api, clock, sessions: new DbSessionStore(dbs.a, { clock, ttlMs: 60_000 }) });
    two = uiRoutes({ api, clock, sessions: new DbSessionStore(dbs.b, { clock, ttlMs: 60_000 }) });
  });
  afterAll(async () => {
    await dbs?.close();
  });

  const signIn = (app: ReturnType<typeof uiRoutes>) =>
    app.request('/login', { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: ADMIN }).toString() });

  it('a session made on one instance works on the other; sign-out on either ends it on both', async () => {
    const cookie = cookieOf(await signIn(one));
    expect(cookie).toMatch(/^sluice_ui=[A-Za-z0-9_-]{43}$/);
    expect((await two.request('/routes', { headers: { cookie } })).status).toBe(200);
    expect((await one.request('/routes', { headers: { cookie } })).status).toBe(200);
    expect((await two.request('/logout', { method: 'POST', headers: { cookie, origin: ORIGIN } })).status).toBe(303);
    expect((await one.request('/routes', { headers: { cookie } })).status).toBe(303);
    expect((await two.request('/routes', { headers: { cookie } })).status).toBe(303);
  });

  it('ends at expiry, and the expired rows go at the next sign-in', async () => {
    const cookie = cookieOf(await signIn(one));
    now.t += 60_001;
    expect((await two.request('/routes', { headers: { cookie } })).status).toBe(303);
    cookieOf(await signIn(two));
    const rows = rowsOf<{ n: number }>(await dbs.a.db.execute(sql`select count(*)::int as n from ui_sessions where expires_at <= ${new Date(now.t).toISOString()}::timestamptz`));
    expect(rows[0]!.n).toBe(0);
  });

  it('the database holds neither the cookie id nor the admin key', async () => {
    const id = cookieOf(await signIn(one)).slice('sluice_ui='.length);
    const dump = JSON.stringify(rowsOf(await dbs.a.db.execute(sql`select * from ui_sessions`)));
    expect(dump).not.toContain(id);
    expect(dump).not.toContain(ADMIN);
    expect(dump).not.toContain(Buffer.from(ADMIN).toString('base64url').slice(0, 20));
  });

  it('a forged or altered cookie is no session', async () => {
    const cookie = cookieOf(await signIn(one));
    const last = cookie.at(-1) === 'A' ? 'B' : 'A';
    expect((await two.request('/routes', { headers: { cookie: cookie.slice(0, -1) + last } })).status).toBe(303);
    expect((await two.request('/routes', { headers: { cookie: 'sluice_ui=' + 'x'.repeat(5_000) } })).status).toBe(303);
  });

  it('keeps at most `max` sessions, dropping the oldest', async () => {
    const store = new DbSessionStore(dbs.a, { clock, ttlMs: 60_000, max: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      now.t += 1;
      ids.push(await store.create(ADMIN));
    }
    const alive = await Promise.all(ids.map(async (id) => (await store.get(id))?.key === ADMIN));
    expect(alive).toEqual([false, false, true, true, true]);
  });
});

describe('session seal', () => {
  it('opens only under the id it was sealed with', () => {
    const box = seal('a'.repeat(43), ADMIN);
    expect(unseal('a'.repeat(43), box)).toBe(ADMIN);
    expect(unseal('b'.repeat(43), box)).toBeUndefined();
    expect(unseal('a'.repeat(43), box.slice(0, -2) + (box.endsWith('AA') ? 'BB' : 'AA'))).toBeUndefined();
    expect(unseal('a'.repeat(43), 'short')).toBeUndefined();
  });
});
