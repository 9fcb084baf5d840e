import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidents } from '../../evals/schema.ts';
import { seedDataDir } from '../../test/helpers/pglite-data-dir.ts';
import { parseEnv } from '../config/env.ts';
import { openConfiguredDatabase } from '../db/open-configured.ts';
import { incidentsCommand } from './incidents-command.ts';
import type { CliIo } from './io.ts';

/** With no server owning SLUICE_DATA_DIR, `sluice incidents` works on the embedded database itself. */
describe('sluice incidents on the database directly (no server)', () => {
  let dir: string;
  let id = '';
  const env = () => parseEnv({ SLUICE_DATA_DIR: join(dir, 'data') });
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    const cli: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), stdout: { write: () => true }, stderr: { write: () => true } };
    return { cli, out, err };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-incidents-cli-'));
    seedDataDir(join(dir, 'data'));
    const database = await openConfiguredDatabase(env());
    const [row] = await database.db
      .insert(incidents)
      .values({ monitor: 'm1', scope: {}, metric: 'error_rate', value: 0.3, baseline: 0.1, detector: { type: 'threshold' }, status: 'open', evidence: {}, openedAt: new Date() })
      .returning({ id: incidents.id });
    id = row!.id;
    await database.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists with a status filter, acknowledges, resolves; an unknown id is exit 1', async () => {
    const listed = io();
    expect(await incidentsCommand(['--status', 'open'], env(), listed.cli)).toBe(0);
    expect(listed.out.join('')).toContain(id);
    const acked = io();
    expect(await incidentsCommand(['ack', id], env(), acked.cli)).toBe(0);
    expect(acked.out.join('')).toContain('acknowledged');
    expect(await incidentsCommand(['resolve', id], env(), io().cli)).toBe(0);
    const none = io();
    expect(await incidentsCommand(['--status', 'open'], env(), none.cli)).toBe(0);
    expect(none.out.join('')).toContain('no open incidents');
    const missing = io();
    expect(await incidentsCommand(['ack', '0190a0f0-0000-7000-8000-00000000dead'], env(), missing.cli)).toBe(1);
    expect(missing.err.join('')).toContain('No incident');
    expect(await incidentsCommand(['--status', 'closed'], env(), io().cli)).toBe(2);
  });
});
