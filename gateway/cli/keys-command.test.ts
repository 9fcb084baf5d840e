import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../prompts/schema.ts';
import { seedDataDir } from '../../test/helpers/pglite-data-dir.ts';
import { KeyStore } from '../auth/key-store.ts';
import { parseEnv } from '../config/env.ts';
import type { Database } from '../db/client.ts';
import { openConfiguredDatabase } from '../db/open-configured.ts';
import type { CliIo } from './io.ts';
import { keysCommand } from './keys-command.ts';

/** With no server owning SLUICE_DATA_DIR, `sluice keys` works on the embedded database itself. */
describe('sluice keys on the database directly (no server)', () => {
  let dir: string;
  let teamId = '';
  const env = () => parseEnv({ SLUICE_DATA_DIR: join(dir, 'data'), USER: 'tester' });
  async function keys(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), stdout: { write: () => true }, stderr: { write: () => true } };
    const code = await keysCommand(argv, env(), io);
    return { code, out: out.join(''), err: err.join('') };
  }
  async function withStore<T>(fn: (store: KeyStore, database: Database) => Promise<T>): Promise<T> {
    const database = await openConfiguredDatabase(env());
    try {
      return await fn(new KeyStore(database, {}), database);
    } finally {
      await database.close();
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-keys-cli-'));
    seedDataDir(join(dir, 'data'));
    teamId = (await withStore((s) => s.createTeam({ name: 'support' }))).id;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('create takes the policy flags; list shows team, budget and limits', async () => {
    const made = await keys(
      'create', '--name', 'bot', '--team', 'support', '--budget', '25/month', '--rpm', '60', '--tpm', '100000',
      '--models', 'openai/*, support-bot', '--prompts', 'support*', '--expires', '2099-01-01T00:00:00Z',
    );
    expect(made.code, made.err).toBe(0);
    const key = made.out.trim();
    expect(key).toMatch(/^sk-sluice-/);
    expect(made.err).toMatch(/created inference key 'bot' \(id [0-9a-f-]{36}, prefix sk-sluice-.{4}\); team support, budget \$25\/month, rpm=60,tpm=100000, models openai\/\*,support-bot, prompts support\*, expires 2099/);

    const found = await withStore(async (s) => {
      await s.reload();
      return s.lookup(key);
    });
    expect(found).toMatchObject({
      name: 'bot',
      policy: { budget: { usd: 25, period: 'month' }, rpm: 60, tpm: 100_000, models: ['openai/*', 'support-bot'], prompts: ['support*'] },
      team: { id: teamId, name: 'support' },
    });
    // Audited under the CLI user.
    const [audit] = await withStore((_, database) => database.db.select().from(auditLog).where(eq(auditLog.subject, `key:${found!.id}`)));
    expect(audit).toMatchObject({ actor: 'cli:tester', action: 'key.create' });

    expect((await keys('create', '--name', 'plain', '--budget', '$0.5/day')).code).toBe(0);
    const list = await keys('list');
    expect(list.code).toBe(0);
    const [header, ...rows] = list.out.trimEnd().split('\n');
    expect(header).toMatch(/^id\s+name\s+scope\s+prefix\s+team\s+budget\s+limits\s+expires\s+created\s+last used\s+revoked$/);
    expect(rows.find((r) => r.includes(' bot '))).toMatch(/\bbot\s+inference\s+sk-sluice-\S+\s+support\s+\$25\/month\s+rpm=60,tpm=100000\s+2099-01-01 00:00\s/);
    expect(rows.find((r) => r.includes(' plain '))).toMatch(/\bplain\s+inference\s+sk-sluice-\S+\s+-\s+\$0\.5\/day\s+-\s+-\s/);
    expect(list.out).not.toContain(key);
  });

  it.each([
    [['--budget', '25'], '--budget must be USD/PERIOD'],
    [['--budget', '25/year'], '--budget must be USD/PERIOD'],
    [['--budget', '2000000000/month'], "--budget: Invalid value for 'budget.usd'"],
    [['--rpm', 'ten'], '--rpm must be a whole number'],
    [['--rpm', '0'], "--rpm: Invalid value for 'rate_limits.rpm'"],
    [['--tpm', '99999999999'], "--tpm: Invalid value for 'rate_limits.tpm'"],
    [['--models', 'openai/*,bad glob'], "--models: Invalid value for 'models[1]'"],
    [['--expires', 'soon'], "--expires: Invalid value for 'expires_at'"],
    [['--expires', '2020-01-01T00:00:00Z'], '--expires: Invalid value for \'expires_at\': it must be in the future'],
    [['--scope', 'root'], '--scope must be inference or admin'],
    [['--colour', 'red'], "Unknown option '--colour'"],
  ])('create --name x %j is refused (exit 2): %s', async (flags, message) => {
    const res = await keys('create', '--name', 'x', ...flags);
    expect(res.code).toBe(2);
    expect(res.err).toContain(message);
    expect(res.out).toBe('');
  });

  it('an unknown team is exit 1 naming it; list and revoke take no policy flags', async () => {
    const res = await keys('create', '--name', 'x', '--team', 'nope');
    expect(res.code).toBe(1);
    expect(res.err).toContain("no team 'nope'");
    expect((await keys('list', '--team', 'support')).code).toBe(2);
    expect((await keys('revoke', '01890000-0000-7000-8000-000000000000', '--rpm', '1')).code).toBe(2);
    const names = await withStore(async (s) => (await s.list()).map((k) => k.name));
    expect(names).not.toContain('x');
  });
});
