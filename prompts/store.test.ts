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

  it('splits a label between its version and another, and clears the split (audited, revision bumped)', async () => {
    await store.createPrompt('eta', null, 't');
    for (const text of ['e1', 'e2', 'e3']) await store.createVersion('eta', content(text), 't');
    await store.moveLabel('eta', 'production', 1, 't');
    const seen: unknown[] = [];
    // What this process's resolver is told: the split, with its version's content to serve at once.
    const unwatch = store.watch((change) => seen.push(change.split?.split ? [change.split.split, change.split.version.messages] : change.split));

    const t0 = await store.changeToken();
    const set = await store.setLabelSplit('eta', 'production', 2, 30, 'ops');
    expect(set).toEqual({ prompt: 'eta', label: 'production', split: { version: 2, percent: 30 }, previous: null, changed: true });
    const t1 = await store.changeToken();
    expect(t1).not.toBe(t0);
    expect((await store.heads('eta')).splits).toEqual(new Map([['production', { version: 2, percent: 30 }]]));
    expect((await store.getPrompt('eta')).splits).toEqual({ production: { version: 2, percent: 30 } });
    expect((await store.listPrompts()).find((p) => p.name === 'eta')?.splits).toEqual({ production: { version: 2, percent: 30 } });
    // The label itself did not move.
    expect((await store.resolve('eta', { label: 'production' })).version).toBe(1);

    expect(await store.setLabelSplit('eta', 'production', 2, 30, 'ops')).toMatchObject({ changed: false });
    expect(await store.changeToken()).toBe(t1);
    expect(await store.setLabelSplit('eta', 'production', 3, 50, 'ops')).toMatchObject({ previous: { version: 2, percent: 30 }, changed: true });

    const cleared = await store.clearLabelSplit('eta', 'production', 'ops');
    expect(cleared).toEqual({ prompt: 'eta', label: 'production', split: null, previous: { version: 3, percent: 50 }, changed: true });
    const t2 = await store.changeToken();
    expect(await store.clearLabelSplit('eta', 'production', 'ops')).toMatchObject({ previous: null, changed: false });
    expect(await store.changeToken()).toBe(t2);
    expect((await store.heads('eta')).splits.size).toBe(0);
    expect((await store.getPrompt('eta')).splits).toEqual({});

    const rows = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'prompt:eta')).orderBy(asc(auditLog.id));
    expect(rows.filter((r) => r.action.startsWith('prompt.label_split')).map((r) => [r.actor, r.action, r.before, r.after])).toEqual([
      ['ops', 'prompt.label_split', null, { label: 'production', version: 2, percent: 30 }],
      ['ops', 'prompt.label_split', { label: 'production', version: 2, percent: 30 }, { label: 'production', version: 3, percent: 50 }],
      ['ops', 'prompt.label_split_cleared', { label: 'production', version: 3, percent: 50 }, null],
    ]);
    expect(seen).toEqual([
      [{ version: 2, percent: 30 }, [{ role: 'system', content: 'e2' }]],
      [{ version: 3, percent: 50 }, [{ role: 'system', content: 'e3' }]],
      { label: 'production', split: null },
    ]);
    unwatch();
  });

  it('refuses a split of `latest`, of a label never set, to a missing version, or with a percent outside 0..100', async () => {
    await store.createPrompt('theta', null, 't');
    await store.createVersion('theta', content('t1'), 't');
    await store.createVersion('theta', content('t2'), 't');
    await store.moveLabel('theta', 'production', 1, 't');
    expect(await rejection(store.setLabelSplit('theta', 'latest', 2, 10, 'ops'))).toMatchObject({ status: 400, param: 'label' });
    expect(await rejection(store.setLabelSplit('theta', 'Prod!', 2, 10, 'ops'))).toMatchObject({ status: 400, param: 'label' });
    expect(await rejection(store.setLabelSplit('theta', 'staging', 2, 10, 'ops'))).toMatchObject({ status: 404, param: 'label' });
    expect(await rejection(store.setLabelSplit('theta', 'production', 9, 10, 'ops'))).toMatchObject({ status: 404, param: 'version' });
    expect(await rejection(store.setLabelSplit('theta', 'production', 1.5, 10, 'ops'))).toMatchObject({ status: 404, param: 'version' });
    expect(await rejection(store.setLabelSplit('nope', 'production', 2, 10, 'ops'))).toMatchObject({ status: 404, param: 'name' });
    for (const percent of [-1, 100.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(await rejection(store.setLabelSplit('theta', 'production', 2, percent, 'ops'))).toMatchObject({ status: 400, param: 'percent' });
    }
    expect(await rejection(store.clearLabelSplit('theta', 'latest', 'ops'))).toMatchObject({ status: 400, param: 'label' });
    expect(await rejection(store.clearLabelSplit('nope', 'production', 'ops'))).toMatchObject({ status: 404, param: 'name' });
    // The ends of the range are splits too: 0 sends no one, 100 everyone.
    expect(await store.setLabelSplit('theta', 'production', 2, 0, 'ops')).toMatchObject({ changed: true });
    expect(await store.setLabelSplit('theta', 'production', 2, 100, 'ops')).toMatchObject({ split: { version: 2, percent: 100 } });
    const rows = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'prompt:theta'));
    expect(rows.filter((r) => r.action === 'prompt.label_split')).toHaveLength(2);
  });

  it("runs label changes in a caller's transaction: committed with it, rolled back with it, watchers not called", async () => {
    await store.createPrompt('iota', null, 't');
    await store.createVersion('iota', content('i1'), 't');
    await store.createVersion('iota', content('i2'), 't');
    await store.moveLabel('iota', 'production', 1, 't');
    const seen: string[] = [];
    const unwatch = store.watch((change) => seen.push(change.name));

    const before = await store.changeToken();
    await expect(
      database.db.transaction(async (tx) => {
        await store.setLabelSplit('iota', 'production', 2, 40, 'engine', tx);
        throw new Error('the caller gave up');
      }),
    ).rejects.toThrow('the caller gave up');
    expect((await store.heads('iota')).splits.size).toBe(0);
    expect(await store.changeToken()).toBe(before);

    await database.db.transaction(async (tx) => {
      expect(await store.setLabelSplit('iota', 'production', 2, 40, 'engine', tx)).toMatchObject({ changed: true });
    });
    expect((await store.heads('iota')).splits.get('production')).toEqual({ version: 2, percent: 40 });
    const afterSplit = await store.changeToken();
    expect(afterSplit).not.toBe(before);

    // Promotion: the label moves and the split goes, in one transaction.
    await database.db.transaction(async (tx) => {
      expect(await store.moveLabel('iota', 'production', 2, 'engine', tx)).toMatchObject({ previous: 1, changed: true });
      expect(await store.clearLabelSplit('iota', 'production', 'engine', tx)).toMatchObject({ previous: { version: 2, percent: 40 }, changed: true });
    });
    const heads = await store.heads('iota');
    expect([heads.labels.get('production'), heads.splits.size]).toEqual([2, 0]);
    expect(await store.changeToken()).not.toBe(afterSplit);
    expect(seen).toEqual([]);
    const rows = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'prompt:iota')).orderBy(asc(auditLog.id));
    expect(rows.slice(-3).map((r) => [r.actor, r.action])).toEqual([
      ['engine', 'prompt.label_split'],
      ['engine', 'prompt.label_moved'],
      ['engine', 'prompt.label_split_cleared'],
    ]);
    expect(rows.filter((r) => r.action === 'prompt.label_split')).toHaveLength(1);
    unwatch();
  });

  it.runIf(target.kind === 'postgres')('NOTIFYs label splits, also made in a caller\'s transaction, on commit', async () => {
    const got: string[] = [];
    expect(await database.listen(PROMPTS_CHANNEL, (p) => got.push(p))).toBe(true);
    await store.createPrompt('kappa', null, 't');
    await store.createVersion('kappa', content('k'), 't');
    await store.moveLabel('kappa', 'production', 1, 't');
    await store.setLabelSplit('kappa', 'production', 1, 5, 't');
    await database.db.transaction((tx) => store.clearLabelSplit('kappa', 'production', 't', tx));
    await expect.poll(() => got.filter((n) => n === 'kappa').length, { timeout: 2000 }).toBe(5);
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
