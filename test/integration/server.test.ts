import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../gateway/logger.ts';
import { startGateway } from '../../gateway/server.ts';
import { startFakeProvider } from '../helpers/fake-provider.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-server-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the composition root', () => {
  it('boots from a config file with env interpolation on embedded PGlite and serves calls', async () => {
    const fake = await startFakeProvider({ apiKey: 'sk-from-env-123456' });
    const dir = tempDir();
    const configPath = join(dir, 'sluice.config.yaml');
    writeFileSync(configPath, 'providers:\n  up: { type: openai-compatible, base_url: "${UP_URL}", api_key: ${UP_KEY} }\n');
    const gw = await startGateway(
      { SLUICE_CONFIG: configPath, UP_URL: fake.openaiBaseUrl, UP_KEY: 'sk-from-env-123456', PORT: '0', SLUICE_DATA_DIR: dir, SLUICE_ADMIN_KEY: 'adm' },
      silentLogger,
    );
    try {
      const health = await fetch(`${gw.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', database: 'pglite' });
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'booted' }] }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('Echo: booted');
    } finally {
      await gw.close();
      await fake.close();
    }
    // initdb in its own thread, then the serving thread: 16.6 s under CI's parallel load on a slow night.
  }, 120_000);

  it('refuses to boot on an unknown key, naming its path', async () => {
    const dir = tempDir();
    const configPath = join(dir, 'bad.yaml');
    writeFileSync(configPath, 'providers:\n  up: { type: openai, api_key: x, colour: blue }\n');
    await expect(startGateway({ SLUICE_CONFIG: configPath, SLUICE_DATA_DIR: dir }, silentLogger)).rejects.toThrow(
      /providers\.up.*colour/,
    );
  });

  it('as a process: exits 78 with the key path on stderr for a dangling reference', async () => {
    const dir = tempDir();
    const configPath = join(dir, 'dangling.yaml');
    writeFileSync(configPath, 'providers: {}\nmodels:\n  fast: nowhere/gpt-4o-mini\n');
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
      cwd: repo,
      env: { ...process.env, SLUICE_CONFIG: configPath, SLUICE_DATA_DIR: dir, PORT: '0', DATABASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toContain('models.fast');
  });
});
