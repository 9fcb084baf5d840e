import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../../test/helpers/fake-provider.ts';
import { until } from '../../test/reliability/raw-client.ts';
import { threadEntry } from '../thread-entry.ts';
import { builtFrom, compiledFile, REPO_ROOT, sourceFingerprint, STAMP } from './compiled.mjs';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A tree shaped like the repository's sources (two modules, a test, a migration). */
function sourceTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-tree-'));
  dirs.push(root);
  for (const dir of ['gateway/db', 'core', 'migrations']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'gateway/db/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'gateway/db/a.test.ts'), 'it.todo("a");\n');
  writeFileSync(join(root, 'core/b.ts'), 'export const b = 2;\n');
  writeFileSync(join(root, 'migrations/0000_init.sql'), 'create table t ();\n');
  writeFileSync(join(root, 'package.json'), '{}\n');
  return root;
}

describe('whether dist/ is current (compiled.mjs)', () => {
  it('the fingerprint follows every source file, a new one, and no test file', () => {
    const root = sourceTree();
    const first = sourceFingerprint(root);
    expect(sourceFingerprint(root)).toBe(first);
    utimesSync(join(root, 'gateway/db/a.test.ts'), new Date(), new Date(Date.now() + 5_000));
    expect(sourceFingerprint(root)).toBe(first);
    utimesSync(join(root, 'gateway/db/a.ts'), new Date(), new Date(Date.now() + 5_000));
    const edited = sourceFingerprint(root);
    expect(edited).not.toBe(first);
    writeFileSync(join(root, 'migrations/0001_more.sql'), 'alter table t add column x int;\n');
    expect(sourceFingerprint(root)).not.toBe(edited);
  });

  it('names the compiled file only when dist/ was built from exactly these sources, and never with SLUICE_FROM_SOURCE=1', () => {
    const root = sourceTree();
    const rel = 'gateway/db/a.js';
    expect(compiledFile(rel, {}, root)).toBeUndefined();
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'dist', STAMP), `${sourceFingerprint(root)}\n`);
    expect(builtFrom(join(root, 'dist'))).toBe(sourceFingerprint(root));
    expect(compiledFile(rel, {}, root)).toBe(join(root, 'dist', rel));
    expect(compiledFile(rel, { SLUICE_FROM_SOURCE: '1' }, root)).toBeUndefined();
    utimesSync(join(root, 'core/b.ts'), new Date(), new Date(Date.now() + 5_000));
    expect(compiledFile(rel, {}, root)).toBeUndefined();
  });

  it('a worker thread starts at its compiled entry when its host runs compiled, at the tsx shim otherwise', () => {
    expect(threadEntry('pglite-thread', 'file:///r/dist/gateway/db/pglite-host.js').href).toBe('file:///r/dist/gateway/db/pglite-thread.js');
    expect(threadEntry('pglite-thread', 'file:///r/gateway/db/pglite-host.ts').href).toBe('file:///r/gateway/db/pglite-thread.mjs');
  });
});

describe('the compiled gateway (build.mjs)', () => {
  let out: string;
  let fake: FakeProvider;

  beforeAll(() => {
    // Inside the repository, so the compiled files resolve its node_modules as dist/ does.
    out = join(mkdtempSync(join(REPO_ROOT, 'node_modules', '.cache-sluice-build-')), 'dist');
    dirs.push(join(out, '..'));
    execFileSync(process.execPath, [join(REPO_ROOT, 'gateway/cli/build.mjs'), '--out', out], { stdio: 'pipe' });
  }, 120_000);
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('is stamped with the sources it was built from, and a second build is a no-op', () => {
    expect(builtFrom(out)).toBe(sourceFingerprint());
    const again = execFileSync(process.execPath, [join(REPO_ROOT, 'gateway/cli/build.mjs'), '--out', out], { stdio: 'pipe', encoding: 'utf8' });
    expect(again).toBe('');
  });

  it('serves a call on its embedded PGlite (worker thread compiled too), logs it, and stops cleanly', async () => {
    const work = mkdtempSync(join(REPO_ROOT, 'node_modules', '.cache-sluice-run-'));
    dirs.push(work);
    const config = join(work, 'sluice.config.yaml');
    writeFileSync(config, `providers:\n  up: { type: openai-compatible, base_url: ${fake.openaiBaseUrl}, api_key: sk-upstream-secret }\n`);
    const child = spawn(process.execPath, [join(out, 'gateway/server.js')], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', SLUICE_CONFIG: config, SLUICE_DATA_DIR: join(work, 'data'), SLUICE_ADMIN_KEY: 'sk-compiled-admin-0123456789' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await until('the compiled gateway to listen', () => stderr.includes('"msg":"sluice listening"') || child.exitCode !== null, 90_000);
      const banner = JSON.parse(stderr.split('\n').find((l) => l.includes('sluice listening')) ?? '{}') as { url?: string; code?: string; database?: string };
      expect(banner).toMatchObject({ code: 'compiled', database: 'pglite' });
      const client = new OpenAI({ baseURL: `${banner.url}/v1`, apiKey: 'sk-compiled-admin-0123456789', maxRetries: 0 });
      const answer = await client.chat.completions.create({ model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'hello from the compiled gateway' }] });
      expect(answer.choices[0]?.message.content).toBeTruthy();
      await until('the call to be written to the embedded database', async () => {
        const health = (await (await fetch(`${banner.url}/healthz`)).json()) as { call_log?: { written?: number } };
        return (health.call_log?.written ?? 0) >= 1;
      }, 20_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('"level":"error"');
  }, 120_000);
});
