import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../test/helpers/test-db.ts';
import { parseEnv } from '../config/env.ts';
import { rowsOf } from './client.ts';
import { openConfiguredDatabase, pgliteDir } from './open-configured.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every table drizzle-kit knows of, the eval tables (evals/schema.ts) among them, is migrated. */
async function tableNames(database: Awaited<ReturnType<typeof openConfiguredDatabase>>): Promise<string[]> {
  const rows = rowsOf<{ name: string }>(await database.db.execute(sql`select table_name as name from information_schema.tables where table_schema = 'public'`));
  return rows.map((r) => r.name);
}

describe('pgliteDir', () => {
  it('is pgdata/ in SLUICE_DATA_DIR, and nothing when DATABASE_URL names a server', () => {
    expect(pgliteDir(parseEnv({ SLUICE_DATA_DIR: '/data' }))).toBe(join('/data', 'pgdata'));
    expect(pgliteDir(parseEnv({}))).toBe(join('.sluice', 'pgdata'));
    expect(pgliteDir(parseEnv({ DATABASE_URL: 'postgres://db/x', SLUICE_DATA_DIR: '/data' }))).toBeUndefined();
  });
});

describe('openConfiguredDatabase', () => {
  it('opens the embedded PGlite in SLUICE_DATA_DIR, migrated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-open-'));
    dirs.push(dir);
    const database = await openConfiguredDatabase(parseEnv({ SLUICE_DATA_DIR: dir }));
    try {
      expect(database.kind).toBe('pglite');
      expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
      expect(await tableNames(database)).toEqual(expect.arrayContaining(['api_keys', 'prompt_versions', 'eval_runs', 'call_scores']));
    } finally {
      await database.close();
    }
  }, 120_000); // initdb in its own thread, then the serving thread starts: slow on a busy machine

  it.skipIf(!process.env.DATABASE_URL)('opens the Postgres server at DATABASE_URL, migrated, and leaves SLUICE_DATA_DIR alone', async () => {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-open-'));
    dirs.push(dir);
    try {
      const database = await openConfiguredDatabase(parseEnv({ DATABASE_URL: scratch.url, SLUICE_DATA_DIR: dir }));
      try {
        expect(database.kind).toBe('postgres');
        expect(await tableNames(database)).toEqual(expect.arrayContaining(['api_keys', 'prompt_versions', 'eval_runs', 'call_scores']));
        expect(existsSync(join(dir, 'pgdata'))).toBe(false);
      } finally {
        await database.close();
      }
    } finally {
      await scratch.drop();
    }
  });
});
