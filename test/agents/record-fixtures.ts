/**
 * Records the request bodies the real coding agents send, with the fake provider as their
 * upstream (no gateway in between), into test/fixtures/agents/. Run by hand after bumping
 * the agents' versions: `npx tsx test/agents/record-fixtures.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeProvider } from '../helpers/fake-provider.ts';

const root = new URL('../..', import.meta.url).pathname;
const bin = (name: string) => join(root, 'test/agents/node_modules/.bin', name);
const out = join(root, 'test/fixtures/agents');

function run(cmd: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const fake = await startFakeProvider();
// Real tool calls (the agents' file readers on hello.txt), so the second request carries a tool result.
const script = (): void => fake.setToolCalls((body) => {
  const tools = ((body as { tools?: Array<{ name?: string; function?: { name?: string } }> }).tools ?? []).map((t) => t.name ?? t.function?.name);
  if (tools.includes('Read')) return [{ name: 'Read', input: { file_path: join(work, 'hello.txt') } }];
  if (tools.includes('exec_command')) return [{ name: 'exec_command', input: { cmd: 'cat hello.txt', workdir: work } }];
  return undefined;
});
script();

/** What a fixture keeps of a recorded request: the POSTs, their path, the headers that matter and the body. */
function slim(requests: typeof fake.requests): unknown[] {
  const keep = ['anthropic-beta', 'anthropic-version', 'user-agent', 'accept'];
  return requests
    .filter((r) => r.method === 'POST')
    .map((r) => ({ path: r.path, headers: Object.fromEntries(keep.filter((k) => r.headers[k] !== undefined).map((k) => [k, r.headers[k]])), body: r.body }));
}
const home = mkdtempSync(join(tmpdir(), 'agents-home-'));
const work = mkdtempSync(join(tmpdir(), 'agents-work-'));
writeFileSync(join(work, 'hello.txt'), 'hello from the fixture file\n');
mkdirSync(out, { recursive: true });
const which = process.argv[2] ?? 'all';

if (which === 'all' || which === 'claude') {
  // A Claude model name, and a provider/model name as a user routing to another vendor writes it.
  for (const [label, model] of [['claude', 'claude-sonnet-4-6'], ['other-model', 'up/gpt-4o-mini']] as const) {
    const r = await run(bin('claude'), ['-p', 'Read hello.txt and tell me what it says', '--tools', 'Read,Bash', '--allowedTools', 'Read', '--max-turns', '3'], {
      HOME: home,
      ANTHROPIC_BASE_URL: fake.url,
      ANTHROPIC_API_KEY: 'sk-ant-fixture',
      ANTHROPIC_MODEL: model,
      ANTHROPIC_SMALL_FAST_MODEL: model,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
    }, work);
    console.log('claude exit', r.code, r.stdout.slice(0, 300), r.stderr.slice(0, 2000));
    writeFileSync(join(out, `claude-code.${label}.json`), `${JSON.stringify(slim(fake.requests), null, 1)}\n`);
    fake.reset();
    script();
  }
}
if (which === 'all' || which === 'codex') {
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(
    join(codexHome, 'config.toml'),
    [
      'model = "gpt-4o-mini"',
      'model_provider = "fake"',
      '[model_providers.fake]',
      'name = "fake"',
      `base_url = "${fake.openaiBaseUrl}"`,
      'env_key = "FAKE_API_KEY"',
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
    ].join('\n'),
  );
  const r = await run(bin('codex'), ['exec', '--skip-git-repo-check', '--sandbox', 'read-only', 'Read hello.txt and tell me what it says'], {
    HOME: home,
    CODEX_HOME: codexHome,
    FAKE_API_KEY: 'sk-fixture',
  }, work);
  console.log('codex exit', r.code, r.stdout.slice(0, 500), r.stderr.slice(0, 3000));
  writeFileSync(join(out, 'codex.json'), `${JSON.stringify(slim(fake.requests), null, 1)}\n`);
}
await fake.close();
