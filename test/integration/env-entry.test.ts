import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/config/load.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { startGateway } from '../../gateway/server.ts';

/** The environment is parsed once at each entry point; a bad value stops it before any work. */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-env-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function sluice(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repo, 'gateway/cli/sluice.mjs'), ...args], {
      cwd: repo,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('a bad environment at the entry points', () => {
  it('startGateway rejects with a ConfigError naming the variable, before it claims the data directory', async () => {
    const dir = tempDir();
    const err = await startGateway({ PORT: '99999', SLUICE_DATA_DIR: dir }, silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('PORT: 99999 is not a port');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('`sluice serve` exits 78 (EX_CONFIG), as for a bad config file', async () => {
    const dir = tempDir();
    const { code, stderr } = await sluice(['serve'], { PORT: 'eighty', SLUICE_DATA_DIR: dir });
    expect(code).toBe(78);
    expect(stderr).toContain('invalid environment: PORT: \\"eighty\\" is not a port');
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
  });

  it('a CLI command exits 2 naming the variable, and opens nothing', async () => {
    const dir = tempDir();
    const { code, stderr } = await sluice(['keys', 'list'], { DATABASE_URL: 'mysql://root:hunter2@db/x', SLUICE_DATA_DIR: dir });
    expect(code).toBe(2);
    expect(stderr).toBe('sluice: invalid environment: DATABASE_URL: must be a postgres:// (or postgresql://) URL\n');
    expect(readdirSync(dir)).toEqual([]);
  });
});
