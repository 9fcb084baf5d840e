import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../gateway/db/client.ts';
import { testDatabases } from '../test/helpers/test-db.ts';
import { PromptError } from './errors.ts';
import { auditLog, promptVersions } from './schema.ts';
import { PROMPTS_CHANNEL, PromptStore } from './store.ts';
import type { PromptContent } from './types.ts';

const content = (text: string, extra: Partial<PromptContent> = {}): PromptContent => ({
  messages: [{ role: 'system', content: text }],
  model: null,
  params: {},
  variables: null,
  ...extra,
});

async function rejection(p: Promise<unknown>): Promise<PromptError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PromptError);
  return err as PromptError;
}

describe.each(testDatabases())('PromptStore on $kind', (target) => {
  let database: Database;
  let store: PromptStore;

  beforeAll(async () => {
    database = await target.open();
    store = new PromptStore(database);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('creates prompts once (409 the second time) and validates names', async () => {
    const p = await store.createPrompt('alpha', 'first', 'tester');
    expect(p).toMatchObject({ name: 'alpha', description: 'first', latestVersion: null, labels: {} });
    expect(await rejection(store.createPrompt('alpha', null, 'tester'))).toMatchObject({ status: 409, param: 'name' });
    expect(await rejection(store.createPrompt('Bad Name', null, 'tester'))).toMatchObject({ status: 400, param: 'name' });
    expect(await rejection(store.getPrompt('nope'))).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('numbers versions 1, 2, … and returns the latest for identical content', async () => {
    await store.createPrompt('beta', null, 'tester');
    const v1 = await store.createVersion('beta', content('one'), 'tester', 'first');
    expect(v1).toMatchObject({ created: true, version: { version: 1, author: 'tester', message: 'first' } });
    const again = await store.createVersion('beta', content('one'), 'someone-else');
    expect(again).toMatchObject({ created: false, version: { version: 1, hash: v1.version.hash, author: 'tester' } });
    const v2 = await store.createVersion('beta', content('two', { params: { temperature: 0 } }), 'tester');
    expect(v2.version.version).toBe(2);
    // Equal to an older version (a revert) is still a new version.
    expect((await store.createVersion('beta', content('one'), 'tester')).version).toMatchObject({ version: 3, hash: v1.version.hash });
    expect((await store.listVersions('beta')).map((v) => v.version)).toEqual([1, 2, 3]);
    expect(await rejection(store.getVersion('beta', 9))).toMatchObject({ status: 404, param: 'version' });
  });

  it('gives 20 concurrent creates the versions 1..20 with no gaps or duplicates', async () => {
    await store.createPrompt('busy', null, 'tester');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.createVersion('busy', content(`v${i}`), `w${i}`)));
    expect(results.every((r) => r.created)).toBe(true);
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await store.heads('busy')).latest).toBe(20);
  });

  it('moves labels, resolves them, and refuses `latest` and unknown versions', async () => {
    await store.createPrompt('gamma', null, 'tester');
    await store.createVersion('gamma', content('g1'), 'tester');
    await store.createVersion('gamma', content('g2'), 'tester');
    expect(await store.moveLabel('gamma', 'production', 1, 'ops')).toMatchObject({ previous: null, version: 1, changed: true });
    expect((await store.resolve('gamma', { label: 'production' })).version).toBe(1);
    expect((await store.resolve('gamma', { label: 'latest' })).version).toBe(2);
    expect(await store.moveLabel('gamma', 'production', 2, 'ops')).toMatchObject({ previous: 1, changed: true });
    expect(await store.moveLabel('gamma', 'production', 2, 'ops')).toMatchObject({ changed: false });
    expect(await rejection(store.moveLabel('gamma', 'latest', 1, 'ops'))).toMatchObject({ status: 400, param: 'label' });
    expect(await rejection(store.moveLabel('gamma', 'Prod!', 1, 'ops'))).toMatchObject({ status: 400, param: 'label' });
    expect(await rejection(store.moveLabel('gamma', 'staging', 7, 'ops'))).toMatchObject({ status: 404, param: 'version' });
    expect(await rejection(store.resolve('gamma', { label: 'staging' }))).toMatchObject({ status: 404, param: 'label' });
    expect((await store.getPrompt('gamma')).labels).toEqual({ production: 2 });
  });

  it('writes an audit row, with before and after, for every change', async () => {
    await store.createPrompt('delta', 'd', 'alice');
    await store.createVersion('delta', content('d1', { model: 'openai/gpt-4o-mini' }), 'alice', 'init');
    await store.createVersion('delta', content('d1', { model: 'openai/gpt-4o-mini' }), 'alice'); // no change
    const v2 = await store.createVersion('delta', content('d2'), 'bob');
    await store.moveLabel('delta', 'production', 1, 'carol');
    await store.moveLabel('delta', 'production', 2, 'carol');
    await store.moveLabel('delta', 'production', 2, 'carol'); // no change
    await store.setDescription('delta', 'new', 'dave');
    const rows = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'prompt:delta')).orderBy(asc(auditLog.id));
    expect(rows.map((r) => [r.actor, r.action, r.before, r.after])).toEqual([
      ['alice', 'prompt.created', null, { name: 'delta', description: 'd' }],
      ['alice', 'prompt.version_created', null, expect.objectContaining({ version: 1, model: 'openai/gpt-4o-mini', message: 'init' })],
      ['bob', 'prompt.version_created', expect.objectContaining({ version: 1 }), { version: 2, hash: v2.version.hash, model: null, message: null }],
      ['carol', 'prompt.label_moved', null, { label: 'production', version: 1 }],
      ['carol', 'prompt.label_moved', { label: 'production', version: 1 }, { label: 'production', version: 2 }],
      ['dave', 'prompt.described', { description: 'd' }, { description: 'new' }],
    ]);
    expect(rows.every((r) => r.at instanceof Date)).toBe(true);
  });

  it('keeps versions immutable and the audit log append-only in the database too', async () => {
    await expect(database.db.update(promptVersions).set({ model: 'x' })).rejects.toThrow();
    await expect(database.db.execute(sql`delete from audit_log`)).rejects.toThrow();
  });

  it('moves the change token on every change and tells this process at once', async () => {
    const seen: string[] = [];
    const unwatch = store.watch((change) => seen.push(change.name));
    const before = await store.changeToken();
    await store.createPrompt('epsilon', null, 't');
    const afterCreate = await store.changeToken();
    await store.createVersion('epsilon', content('e'), 't');
    const afterVersion = await store.changeToken();
    await store.createVersion('epsilon', content('e'), 't'); // identical: no change
    expect(await store.changeToken()).toBe(afterVersion);
    expect(new Set([before, afterCreate, afterVersion]).size).toBe(3);
    expect(seen).toEqual(['epsilon', 'epsilon']);
    unwatch();
  });

  it.runIf(target.kind === 'postgres')('NOTIFYs sluice_prompts with the prompt name on commit', async () => {
    const got: string[] = [];
    expect(await database.listen(PROMPTS_CHANNEL, (p) => got.push(p))).toBe(true);
    await store.createPrompt('zeta', null, 't');
    await store.createVersion('zeta', content('z'), 't');
    await store.moveLabel('zeta', 'production', 1, 't');
    await expect.poll(() => got.filter((n) => n === 'zeta').length, { timeout: 2000 }).toBe(3);
  });
});
