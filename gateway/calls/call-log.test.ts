import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { ConfigError, parseConfig } from '../config/load.ts';
import { rowsOf } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { startCallLog } from './call-log.ts';
import { canMapFiles } from './wal-mapping.ts';

const route = (payloads?: unknown) => ({ variants: [{ name: 'a', target: 'p/m' }], ...(payloads === undefined ? {} : { payloads }) });
const raw = (routes: Record<string, unknown>) => ({ providers: { p: { type: 'openai', api_key: 'sk-test-key-123456' } }, routes });

describe('routes.<name>.payloads', () => {
  it('accepts full, metadata and a sampled share; refuses anything else, naming the key', () => {
    const config = parseConfig(raw({ a: route('full'), b: route('metadata'), c: route({ sample: 0.1 }), d: route() }), {});
    expect(config.routes.c!.payloads).toEqual({ sample: 0.1 });
    expect(config.routes.d!.payloads).toBeUndefined();
    for (const bad of ['some', { sample: 0 }, { sample: 1.5 }, { sample: 0.5, extra: 1 }]) {
      expect(() => parseConfig(raw({ a: route(bad) }), {})).toThrow(ConfigError);
      expect(() => parseConfig(raw({ a: route(bad) }), {})).toThrow(/routes\.a\.payloads/);
    }
  });
});

describe.each(testDatabases())('payload capture through the call log ($kind)', ({ open }) => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('stores bodies for full routes only, and every call row', async () => {
    const database = await open();
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-calllog-'));
    dirs.push(dataDir);
    try {
      const config = parseConfig(raw({ quiet: route('metadata'), loud: route('full') }), {});
      const log = await startCallLog(config, database, { dataDir, logger: silentLogger });
      const quiet = sampleRecord({ route: 'quiet' });
      const loud = sampleRecord({ route: 'loud' });
      log.sink.enqueue(quiet);
      log.sink.enqueue(loud);
      await log.stop();
      const calls = rowsOf<{ id: string }>(await database.db.execute(sql`select id::text as id from calls order by id`));
      const payloads = rowsOf<{ id: string }>(await database.db.execute(sql`select call_id::text as id from call_payloads`));
      expect(calls.map((r) => r.id).sort()).toEqual([quiet.id, loud.id].sort());
      expect(payloads.map((r) => r.id)).toEqual([loud.id]);
    } finally {
      await database.close();
    }
  });

  it('maps the log where the addon is installed unless mmap is false; writes it when the log is on either way', async () => {
    for (const mmap of [true, false]) {
      const database = await open();
      const dataDir = mkdtempSync(join(tmpdir(), 'sluice-calllog-'));
      dirs.push(dataDir);
      try {
        const config = parseConfig({ ...raw({}), logging: { wal: { mmap } } }, {});
        const log = await startCallLog(config, database, { dataDir, logger: silentLogger });
        log.sink.enqueue(sampleRecord());
        expect(log.stats()).toMatchObject({ wal: { appended: 1, failed: 0, mapped: mmap && canMapFiles() } });
        await log.stop();
      } finally {
        await database.close();
      }
    }
  });
});
