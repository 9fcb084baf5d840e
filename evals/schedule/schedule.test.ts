import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { getRun } from '../run/store.ts';
import { CronError, nextRun, parseCron } from './cron.ts';
import { loadSchedules, queueDueRuns, syncSchedules } from './schedules.ts';

const at = (s: string) => new Date(s);
const next = (cron: string, after: string) => nextRun(parseCron(cron), at(after)).toISOString();

describe('cron', () => {
  it('finds the next matching minute (UTC)', () => {
    expect(next('* * * * *', '2026-01-01T10:00:30Z')).toBe('2026-01-01T10:01:00.000Z');
    expect(next('0 3 * * *', '2026-01-01T10:00:00Z')).toBe('2026-01-02T03:00:00.000Z');
    expect(next('*/15 * * * *', '2026-01-01T10:16:00Z')).toBe('2026-01-01T10:30:00.000Z');
    expect(next('30 9 * * 1-5', '2026-01-02T10:00:00Z')).toBe('2026-01-05T09:30:00.000Z'); // Fri → Mon
    expect(next('0 0 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 12 1 * 7', '2026-01-02T00:00:00Z')).toBe('2026-01-04T12:00:00.000Z'); // Sunday (7) or the 1st
  });

  it('rejects what it cannot read', () => {
    expect(() => parseCron('* * *')).toThrow(CronError);
    expect(() => parseCron('61 * * * *')).toThrow(/minute: '61' is outside 0-59/);
    expect(() => parseCron('a * * * *')).toThrow(/cannot read 'a'/);
  });
});

describe.each(testDatabases())('schedules ($kind)', (target) => {
  let database: Database;
  let dir: string;
  beforeAll(async () => {
    database = await target.open();
    dir = mkdtempSync(join(tmpdir(), 'sluice-sched-'));
  });
  afterAll(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a schedules file, queues each due slot once however many workers tick', async () => {
    writeFileSync(join(dir, 'job.yaml'), 'name: nightly\nschedule: "0 3 * * *"\ndataset: { items: [{ output: "x", expected: "x" }] }\nscorers: [exact]\n');
    writeFileSync(join(dir, 'schedules.yaml'), 'schedules:\n  - job: ./job.yaml\n  - name: hourly\n    cron: "0 * * * *"\n    job: { name: hourly-job, dataset: { items: [{ output: "y" }] }, scorers: [groundedness] }\n');
    const specs = loadSchedules(join(dir, 'schedules.yaml'));
    expect(specs.map((s) => [s.name, s.cron])).toEqual([
      ['nightly', '0 3 * * *'],
      ['hourly', '0 * * * *'],
    ]);
    await syncSchedules(database, specs, at('2026-01-01T02:30:00Z'));
    expect(await queueDueRuns(database, at('2026-01-01T02:59:00Z'))).toEqual([]); // both are next due at 03:00
  });

  it('advances past the slot it queued and records the trigger', async () => {
    const [a, b] = await Promise.all([queueDueRuns(database, at('2026-01-01T03:00:00Z')), queueDueRuns(database, at('2026-01-01T03:00:00Z'))]);
    const ids = [...a!, ...b!];
    expect(ids).toHaveLength(2); // nightly 03:00 and hourly 03:00, each once
    const triggers = (await Promise.all(ids.map((id) => getRun(database, id)))).map((r) => r!.trigger).sort();
    expect(triggers).toEqual(['schedule:hourly', 'schedule:nightly']);
    expect(await queueDueRuns(database, at('2026-01-01T03:30:00Z'))).toEqual([]);
  });
});
