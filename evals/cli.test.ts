import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../gateway/logger.ts';
import { startFakeProvider, type FakeProvider } from '../test/helpers/fake-provider.ts';
import { seedDataDir } from '../test/helpers/pglite-data-dir.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';
import { runEvalCli, type CliIo } from './cli.ts';

interface Captured extends CliIo {
  stdout: string;
  errText: string;
}

function capture(): Captured {
  const io: Captured = {
    stdout: '',
    errText: '',
    out: (s) => void (io.stdout += s),
    err: (s) => void (io.errText += s),
    stderr: { write: (s: string) => (io.errText += s), isTTY: false },
    logger: silentLogger,
  };
  return io;
}

const targets: Array<{ kind: string; env: () => Promise<{ env: Record<string, string>; drop(): Promise<void> }> }> = [
  { kind: 'pglite', env: async () => ({ env: {}, drop: async () => {} }) },
];
if (process.env.DATABASE_URL) {
  const url = process.env.DATABASE_URL;
  targets.push({
    kind: 'postgres',
    env: async () => {
      const scratch = await createScratchDatabase(url);
      return { env: { DATABASE_URL: scratch.url }, drop: () => scratch.drop() };
    },
  });
}

describe.each(targets)('sluice eval CLI ($kind)', (target) => {
  let fake: FakeProvider;
  let dir: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    fake = await startFakeProvider();
    dir = mkdtempSync(join(tmpdir(), 'sluice-evals-cli-'));
    writeFileSync(join(dir, 'sluice.config.yaml'), `providers:\n  fake: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\nlogging: { flush_ms: 20 }\n`);
    writeFileSync(
      join(dir, 'qa.jsonl'),
      Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `q${i}`, input: `question number ${i}`, context: `question number ${i} has an answer` })).join('\n') + '\n',
    );
    const db = await target.env();
    drop = db.drop;
    env = { ...db.env, SLUICE_CONFIG: join(dir, 'sluice.config.yaml'), SLUICE_DATA_DIR: join(dir, 'data') };
    seedDataDir(join(dir, 'data'));
  });
  afterAll(async () => {
    await drop?.();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (extra = '') => `name: cli-job
dataset: { path: ./qa.jsonl }
targets:
  - { name: v1, model: fake/gpt-4o-mini }
  - { name: v2, model: fake/gpt-4o }
baseline: v1
scorers: [groundedness, { name: contains, value: Echo }]
gate: { scorer: contains, max_drop: 0.1, confidence: 0.95 }
${extra}`;

  it('eval run --json writes exactly {run_id, summary, items:[{item_id, target, output, scores}]} and exits 0', async () => {
    writeFileSync(join(dir, 'job.yaml'), job());
    const io = capture();
    const code = await runEvalCli(['eval', 'run', join(dir, 'job.yaml'), '--json', join(dir, 'out.json')], env, io);
    expect(io.errText).not.toMatch(/failed/);
    expect(code).toBe(0);
    expect(io.stdout).toMatch(/gate: contains may drop at most 0\.1 at 95% confidence → PASS/);
    expect(io.errText).toMatch(/cli-job: 20 to do/); // plain progress lines when stderr is not a TTY
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['run_id', 'summary', 'items']);
    expect(out.run_id).toMatch(/^[0-9a-f-]{36}$/);
    const items = out.items as Array<Record<string, unknown>>;
    expect(items).toHaveLength(20);
    for (const it of items) {
      expect(Object.keys(it)).toEqual(['item_id', 'target', 'output', 'scores']);
      expect(Object.keys(it.scores as object)).toEqual(['groundedness', 'contains']);
    }
    expect(items[0]).toEqual({ item_id: 'q0', target: 'v1', output: 'Echo: question number 0', scores: { groundedness: expect.any(Number), contains: 1 } });
    expect(out.summary).toMatchObject({ job: 'cli-job', regression: false, baseline: 'v1', gate: { verdict: 'pass' } });
  });

  it('exits 1 on a regression and reports it; eval report renders the table and a self-contained HTML file', async () => {
    fake.setReply((body) => ((body as { model: string }).model === 'gpt-4o' ? 'I cannot say.' : `Echo: ${JSON.stringify(body).length}`));
    // New questions: with Postgres the gateway's shared cache would answer the first job's again.
    writeFileSync(join(dir, 'qa2.jsonl'), Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `r${i}`, input: `another question ${i}` })).join('\n'));
    writeFileSync(join(dir, 'job2.yaml'), job().replace('./qa.jsonl', './qa2.jsonl'));
    const io = capture();
    const code = await runEvalCli(['eval', 'run', join(dir, 'job2.yaml'), '--json', join(dir, 'out2.json')], env, io);
    fake.setReply(null);
    expect(code).toBe(1);
    expect(io.stdout).toMatch(/→ FAIL: v2 dropped 1\.000 on contains vs v1/);
    expect(io.stdout).toMatch(/verdict: REGRESSION/);
    const runId = (JSON.parse(readFileSync(join(dir, 'out2.json'), 'utf8')) as { run_id: string }).run_id;

    const table = capture();
    expect(await runEvalCli(['eval', 'report', runId], env, table)).toBe(0);
    expect(table.stdout).toMatch(/v2\s+contains\s+10\s+0\.000/);

    const html = capture();
    expect(await runEvalCli(['eval', 'report', runId, '--html', join(dir, 'report.html')], env, html)).toBe(0);
    const page = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('class="chart" data-source=');
    expect(page).toContain('Gate FAIL');
    // Self-contained: charts are inlined code, nothing is fetched.
    expect(page).not.toMatch(/<link|<img|<iframe|<[a-z][^>]*\s(src|href)=/i);
    // Inputs and expected answers come from the stored dataset items.
    expect(page).toContain('<h2 id="items">Results per item</h2>');
  });

  it('a bad job or a bad dataset line fails with a message naming it (exit 2)', async () => {
    writeFileSync(join(dir, 'bad.yaml'), job().replace('max_drop: 0.1', 'max_drop: -1'));
    const io = capture();
    expect(await runEvalCli(['eval', 'run', join(dir, 'bad.yaml')], env, io)).toBe(2);
    expect(io.errText).toMatch(/gate\.max_drop/);

    writeFileSync(join(dir, 'broken.jsonl'), '{"input": "ok"}\n{"input": 3}\n');
    writeFileSync(join(dir, 'bad2.yaml'), job().replace('./qa.jsonl', './broken.jsonl'));
    const io2 = capture();
    expect(await runEvalCli(['eval', 'run', join(dir, 'bad2.yaml')], env, io2)).toBe(2);
    expect(io2.errText).toMatch(/broken\.jsonl line 2: input: /);
  });
});
