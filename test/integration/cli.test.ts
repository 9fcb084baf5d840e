import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalExtension } from '../../gateway/cli/serve-command.ts';
import { claimDataDir, DataDirBusyError, OWNER_FILE, TOKEN_FILE } from '../../gateway/db/data-dir-owner.ts';
import { createJsonLogger } from '../../gateway/logger.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { seedDataDir } from '../helpers/pglite-data-dir.ts';
import { sluice } from '../helpers/sluice-cli.ts';
import { createScratchDatabase } from '../helpers/test-db.ts';

/**
 * Issue 14 items 2 and 6: the real `sluice` entry (gateway/cli/sluice.mjs, spawned) against a
 * real server on a temp SLUICE_DATA_DIR (embedded PGlite). Every command that changes data
 * either lands in the server's own view (checked through its API) or exits 2 naming it.
 */
const TIMEOUT = 120_000;

describe('the sluice CLI beside a running embedded server (one owner of SLUICE_DATA_DIR)', () => {
  let fake: FakeProvider;
  let root: string;
  let env: Record<string, string>;
  let gw: RunningGateway | undefined;
  let logLines: Array<Record<string, unknown>>;
  let adminKey = '';
  const dataDir = () => env.SLUICE_DATA_DIR!;
  const api = async (path: string, init: RequestInit = {}, key = adminKey) => {
    const res = await fetch(`${gw!.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const start = async () => {
    logLines = [];
    gw = await startGateway(
      { ...env, PORT: '0' },
      createJsonLogger((l) => void logLines.push(JSON.parse(l) as Record<string, unknown>)),
      evalExtension,
    );
  };
  const serverNamed = (text: string) => expect(text).toContain(`pid ${process.pid}, ${gw!.url}`);

  beforeAll(async () => {
    fake = await startFakeProvider();
    root = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    writeFileSync(join(root, 'sluice.config.yaml'), `providers:\n  fake: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\nlogging: { flush_ms: 20 }\n`);
    env = { SLUICE_CONFIG: join(root, 'sluice.config.yaml'), SLUICE_DATA_DIR: join(root, 'data') };
    seedDataDir(env.SLUICE_DATA_DIR!);
    await start();
  }, TIMEOUT);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('logs one banner with the providers, and says how to get a key when none exists', () => {
    const listening = logLines.filter((l) => l.msg === 'sluice listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ url: gw!.url, database: 'pglite', providers: [{ name: 'fake', type: 'openai-compatible', models: 'from upstream /v1/models' }] });
    const warn = logLines.find((l) => l.level === 'warn' && String(l.msg).includes('no gateway key exists'));
    expect(warn?.msg).toContain('`npx sluice keys create --name me --scope admin`');
    // The owner file names the server; the token is 0600 and never logged.
    expect(JSON.parse(readFileSync(join(dataDir(), OWNER_FILE), 'utf8'))).toMatchObject({ pid: process.pid, kind: 'server', url: gw!.url });
    expect(statSync(join(dataDir(), TOKEN_FILE)).mode & 0o777).toBe(0o600);
    const token = readFileSync(join(dataDir(), TOKEN_FILE), 'utf8').trim();
    expect(token).toMatch(/^sk-sluice-local-/);
    expect(JSON.stringify(logLines)).not.toContain(token);
  });

  it('keys create|list|revoke go through the server: the printed key works there at once', async () => {
    const made = await sluice(['keys', 'create', '--name', 'me', '--scope', 'admin'], env);
    expect(made.code, made.stderr).toBe(0);
    serverNamed(made.stderr);
    adminKey = made.stdout.trim();
    expect(adminKey).toMatch(/^sk-sluice-/);
    expect(made.stderr).toMatch(/created admin key 'me' \(id [0-9a-f-]{36}, prefix sk-sluice-/);
    const listed = await api('/api/keys');
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ name: 'me', scope: 'admin', revoked_at: null })]);

    const app = await sluice(['keys', 'create', '--name', 'app'], env);
    expect(app.code, app.stderr).toBe(0);
    const appKey = app.stdout.trim();
    expect((await api('/v1/models', {}, appKey)).status).toBe(200);
    const list = await sluice(['keys', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^id\s+name\s+scope\s+prefix\s+team\s+budget\s+limits\s+expires\s+created\s+last used\s+revoked$/);
    expect(list.stdout).toMatch(/\bapp\s+inference\s+sk-sluice-/);
    expect(list.stdout).not.toContain(appKey);
    expect(list.stdout).not.toContain(adminKey);
    const appId = (await api('/api/keys')).body.data.find((k: { name: string }) => k.name === 'app').id as string;
    const revoked = await sluice(['keys', 'revoke', appId], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked key ${appId} ('app')`);
    expect((await api('/v1/models', {}, appKey)).status).toBe(401);
    expect((await sluice(['keys', 'revoke', appId], env)).code).toBe(1);
    const bad = await sluice(['keys', 'create', '--name', 'x', '--scope', 'root'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scope must be inference or admin');
  }, TIMEOUT);

  it('prompts push lands in the server registry (labels, description); pull writes it back out', async () => {
    const src = join(root, 'prompts');
    mkdirSync(src);
    writeFileSync(join(src, 'support.md'), '---\ndescription: Support bot\nlabels: [production]\n---\nYou help {{company}} customers.\n');
    const pushed = await sluice(['prompts', 'push', src], env);
    expect(pushed.code, pushed.stderr).toBe(0);
    serverNamed(pushed.stderr);
    expect(pushed.stdout).toContain('created support@1');
    expect(pushed.stdout).toContain('moved support@production: - -> 1');
    expect((await api('/api/prompts/support')).body).toMatchObject({ description: 'Support bot', latest_version: 1, labels: { production: 1 } });

    writeFileSync(join(src, 'support.md'), '---\ndescription: Support assistant\nlabels: [production]\n---\nYou help {{company}} customers kindly.\n');
    const again = await sluice(['prompts', 'push', src], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('created support@2');
    expect((await api('/api/prompts/support')).body).toMatchObject({ description: 'Support assistant', latest_version: 2, labels: { production: 2 } });
    expect((await api('/api/prompts/support/resolve?label=production')).body.messages).toEqual([{ role: 'system', content: 'You help {{company}} customers kindly.' }]);

    const out = join(root, 'pulled');
    const pulled = await sluice(['prompts', 'pull', out], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(readFileSync(join(out, 'support.md'), 'utf8')).toContain('You help {{company}} customers kindly.');
    const noop = await sluice(['prompts', 'push', out], env);
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.stdout).toContain('0 version(s) created, 1 unchanged');
  }, TIMEOUT);

  it('docs ingest lands in the server corpus and its search finds it', async () => {
    const docs = join(root, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'refunds.md'), 'Refunds are paid within fourteen days to the original card.\n');
    const ran = await sluice(['docs', 'ingest', docs, '--collection', 'handbook'], env);
    expect(ran.code, ran.stderr).toBe(0);
    serverNamed(ran.stderr);
    expect(ran.stdout).toContain("ingested 1 document(s) from 1 file(s) into 'handbook'");
    const found = await api('/api/documents/search?collection=handbook&q=refunds%20fourteen%20days');
    expect(found.status).toBe(200);
    expect(found.body.data.map((d: { id: string }) => d.id)).toEqual(['refunds.md#0']);
    const usage = await sluice(['docs', 'ingest', docs], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--collection is required');
  }, TIMEOUT);

  it('eval run is run by the server: same table, --json, verdict; the run is in its database', async () => {
    writeFileSync(join(root, 'qa.jsonl'), `${JSON.stringify({ id: 'a', input: 'alpha question' })}\n\n${JSON.stringify({ input: 'beta question' })}\n`);
    writeFileSync(
      join(root, 'job.yaml'),
      'name: cli-server-job\ndataset: { path: ./qa.jsonl }\ntargets:\n  - { name: v1, model: fake/gpt-4o-mini }\n  - { name: v2, model: fake/gpt-4o }\nbaseline: v1\nscorers: [{ name: contains, value: Echo }]\n',
    );
    const ran = await sluice(['eval', 'run', join(root, 'job.yaml'), '--json', join(root, 'out.json')], env);
    expect(ran.code, ran.stderr).toBe(0);
    serverNamed(ran.stderr);
    expect(ran.stdout).toMatch(/target\s+scorer\s+n\s+mean/);
    const out = JSON.parse(readFileSync(join(root, 'out.json'), 'utf8')) as { run_id: string; items: Array<{ item_id: string; target: string; output: string; scores: Record<string, number> }> };
    // Item ids as a local run gives them: the id, else the 0-based line (line 1 is blank).
    expect(out.items.map((i) => [i.item_id, i.target, i.output, i.scores.contains]).sort()).toEqual(
      [
        ['a', 'v1', 'Echo: alpha question', 1],
        ['a', 'v2', 'Echo: alpha question', 1],
        ['2', 'v1', 'Echo: beta question', 1],
        ['2', 'v2', 'Echo: beta question', 1],
      ].sort(),
    );
    const run = await api(`/api/evals/runs/${out.run_id}`);
    expect(run.body).toMatchObject({ status: 'succeeded', name: 'cli-server-job', dataset: { name: 'qa' } });

    const report = await sluice(['eval', 'report', out.run_id], env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(out.run_id);
    const html = await sluice(['eval', 'report', out.run_id, '--html', join(root, 'r.html')], env);
    expect(html.code).toBe(2);
    serverNamed(html.stderr);
    expect(existsSync(join(root, 'r.html'))).toBe(false);
  }, TIMEOUT);

  it('eval run through the server exits 1 on a regression, and 2 on a bad dataset line naming it', async () => {
    writeFileSync(join(root, 'qa2.jsonl'), Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `r${i}`, input: `another question ${i}` })).join('\n'));
    writeFileSync(
      join(root, 'gate.yaml'),
      'name: cli-gate\ndataset: { path: ./qa2.jsonl }\ntargets:\n  - { name: v1, model: fake/gpt-4o-mini }\n  - { name: v2, model: fake/gpt-4o }\nbaseline: v1\n' +
        'scorers: [{ name: contains, value: Echo }]\ngate: { scorer: contains, max_drop: 0.1, confidence: 0.95 }\n',
    );
    fake.setReply((body) => ((body as { model: string }).model === 'gpt-4o' ? 'I cannot say.' : 'Echo: fine'));
    try {
      const ran = await sluice(['eval', 'run', join(root, 'gate.yaml')], env);
      expect(ran.code, ran.stderr).toBe(1);
      expect(ran.stdout).toMatch(/verdict: REGRESSION/);
    } finally {
      fake.setReply(null);
    }
    writeFileSync(join(root, 'broken.jsonl'), '{"input": "ok"}\n{"input": 3}\n');
    writeFileSync(join(root, 'broken.yaml'), 'name: cli-broken\ndataset: { path: ./broken.jsonl }\ntargets: [{ name: v1, model: fake/gpt-4o-mini }]\nscorers: [{ name: contains, value: Echo }]\n');
    const bad = await sluice(['eval', 'run', join(root, 'broken.yaml')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/broken\.jsonl line 2: input: /);
    expect((await api('/api/evals/runs?name=cli-broken')).body.data).toEqual([]);
  }, TIMEOUT);

  /** One logged call per face, and what its answer must contain when replayed. */
  const replayCases: Array<{ face: string; path: string; body: Record<string, unknown>; expect: string }> = [
    { face: 'chat.completions', path: '/v1/chat/completions', body: { model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: 'replay me' }] }, expect: 'Echo: replay me' },
    { face: 'messages', path: '/v1/messages', body: { model: 'fake/gpt-4o-mini', max_tokens: 50, system: 'be brief', messages: [{ role: 'user', content: 'replay the messages face' }] }, expect: '"type":"message"' },
    { face: 'responses', path: '/v1/responses', body: { model: 'fake/gpt-4o-mini', input: 'replay the responses face', instructions: 'be brief' }, expect: '"object":"response"' },
    { face: 'embeddings', path: '/v1/embeddings', body: { model: 'fake/text-embedding-3-small', input: 'replay the embeddings face' }, expect: '"object":"list"' },
  ];

  it.each(replayCases)('replay sends a logged $face call again through the server, to the face it came from', async (c) => {
    const res = await fetch(`${gw!.url}${c.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(c.body),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const callId = res.headers.get('x-sluice-call-id')!;
    // The call log writes in batches (flush_ms 20): wait until the server can read the call.
    for (let i = 0; i < 100 && (await api(`/api/calls/${callId}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    const logged = (await api(`/api/calls/${callId}`)).body;
    expect(logged.endpoint).toBe(c.face);
    // The client's own body is kept when the gateway sent on a translation of it.
    expect(logged.payload.face_request ?? logged.payload.request).toEqual(c.body);
    const ran = await sluice(['replay', callId], env);
    expect(ran.code, ran.stderr).toBe(0);
    serverNamed(ran.stderr);
    expect(ran.stdout).toContain(c.expect);
    const again = /replayed \S+ as (\S+) \(HTTP 200\)/.exec(ran.stderr)?.[1];
    expect(again).toBeDefined();
    expect(again).not.toBe(callId);
    for (let i = 0; i < 100 && (await api(`/api/calls/${again!}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    const replayed = (await api(`/api/calls/${again!}`)).body;
    expect(replayed.endpoint).toBe(c.face);
    expect(replayed.status).toBe('ok');
  }, TIMEOUT);

  it('migrate says the server did it; worker and a second server exit 2 naming it', async () => {
    const migrate = await sluice(['migrate'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    serverNamed(migrate.stdout);
    const worker = await sluice(['worker'], env);
    expect(worker.code).toBe(2);
    serverNamed(worker.stderr);
    const second = await sluice(['serve'], { ...env, PORT: '0' });
    expect(second.code).toBe(2);
    serverNamed(second.stderr);
  }, TIMEOUT);

  it('after the server stops, the CLI owns the directory and nothing is lost across a restart', async () => {
    await gw!.close();
    expect(existsSync(join(dataDir(), OWNER_FILE))).toBe(false);
    expect(existsSync(join(dataDir(), TOKEN_FILE))).toBe(false);
    const list = await sluice(['keys', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).not.toContain('going through');
    expect(list.stdout).toMatch(/\bme\s+admin\b/);
    const src = join(root, 'prompts');
    writeFileSync(join(src, 'triage.md'), '---\nlabels: [production]\n---\nSort the ticket.\n');
    const pushed = await sluice(['prompts', 'push', src], env);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain('created triage@1');
    expect(existsSync(join(dataDir(), OWNER_FILE))).toBe(false);

    await start();
    expect((await api('/api/prompts/triage')).body).toMatchObject({ latest_version: 1, labels: { production: 1 } });
    expect((await api('/api/prompts/support')).body).toMatchObject({ latest_version: 2 });
    // A key exists now: the banner no longer asks for one.
    expect(logLines.some((l) => String(l.msg).includes('no gateway key exists'))).toBe(false);
  }, TIMEOUT);

  it('a server refuses a directory a CLI command holds, naming the command', async () => {
    const other = { ...env, SLUICE_DATA_DIR: join(root, 'other') };
    const claim = claimDataDir(other.SLUICE_DATA_DIR, { kind: 'cli', command: 'docs ingest' });
    try {
      const err = await startGateway({ ...other, PORT: '0' }, createJsonLogger(() => {})).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirBusyError);
      expect((err as Error).message).toContain(`\`sluice docs ingest\` (pid ${process.pid}`);
    } finally {
      claim.release();
    }
  }, TIMEOUT);
});

describe.runIf(Boolean(process.env.DATABASE_URL))('the sluice CLI with DATABASE_URL (Postgres is shared: no owner, commands go direct)', () => {
  it('keys create writes to Postgres directly and a running server accepts the key; no owner file is written', async () => {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    const root = mkdtempSync(join(tmpdir(), 'sluice-cli-pg-'));
    const env = { DATABASE_URL: scratch.url, SLUICE_DATA_DIR: join(root, 'data') };
    const gw = await startGateway({ ...env, PORT: '0' }, createJsonLogger(() => {}));
    try {
      expect(existsSync(join(root, 'data', OWNER_FILE))).toBe(false);
      const made = await sluice(['keys', 'create', '--name', 'pg', '--scope', 'admin'], env);
      expect(made.code, made.stderr).toBe(0);
      expect(made.stderr).not.toContain('going through');
      const res = await fetch(`${gw.url}/api/keys`, { headers: { authorization: `Bearer ${made.stdout.trim()}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: Array<{ name: string }> }).data.map((k) => k.name)).toEqual(['pg']);
    } finally {
      await gw.close();
      await scratch.drop();
      rmSync(root, { recursive: true, force: true });
    }
  }, TIMEOUT);
});
