/**
 * Runs the real coding-agent CLIs (installed by `npm ci --prefix test/agents`, not a dependency
 * of sluice) against a base URL, offline: a throwaway HOME, no telemetry, no update checks.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
export const AGENT_BIN = join(root, 'test/agents/node_modules/.bin');
const bin = (name: string): string => join(AGENT_BIN, name);

/** Whether both CLIs are installed (test/agents/node_modules). */
export function agentsInstalled(): boolean {
  return existsSync(bin('claude')) && existsSync(bin('codex'));
}

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The working directory the agent ran in (holds hello.txt). */
  cwd: string;
}

export const HELLO_TEXT = 'hello from the fixture file';

function workspace(): { home: string; cwd: string } {
  const home = mkdtempSync(join(tmpdir(), 'sluice-agent-home-'));
  const cwd = mkdtempSync(join(tmpdir(), 'sluice-agent-work-'));
  writeFileSync(join(cwd, 'hello.txt'), `${HELLO_TEXT}\n`);
  return { home, cwd };
}

function run(cmd: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<AgentRun> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, cwd });
    });
  });
}

/** `claude -p <prompt>` with ANTHROPIC_BASE_URL = baseUrl and every model set to `model`. */
export function runClaude(opts: { baseUrl: string; apiKey: string; model: string; prompt: string; tools?: string; timeoutMs?: number }): Promise<AgentRun> {
  const { home, cwd } = workspace();
  const tools = opts.tools ?? 'Read';
  return run(
    bin('claude'),
    ['-p', opts.prompt, '--tools', tools, '--allowedTools', tools, '--max-turns', '4'],
    {
      HOME: home,
      ANTHROPIC_BASE_URL: opts.baseUrl,
      ANTHROPIC_API_KEY: opts.apiKey,
      ANTHROPIC_MODEL: opts.model,
      ANTHROPIC_SMALL_FAST_MODEL: opts.model,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: opts.model,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
    },
    cwd,
    opts.timeoutMs ?? 90_000,
  );
}

/** `codex exec <prompt>` with a `wire_api = "responses"` model provider whose base_url is baseUrl (…/v1). */
export function runCodex(opts: { baseUrl: string; apiKey: string; model: string; prompt: string; timeoutMs?: number }): Promise<AgentRun> {
  const { home, cwd } = workspace();
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(
    join(codexHome, 'config.toml'),
    [
      `model = ${JSON.stringify(opts.model)}`,
      'model_provider = "sluice"',
      '',
      '[model_providers.sluice]',
      'name = "sluice"',
      `base_url = ${JSON.stringify(opts.baseUrl)}`,
      'env_key = "SLUICE_API_KEY"',
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
    ].join('\n'),
  );
  return run(
    bin('codex'),
    ['exec', '--skip-git-repo-check', '--sandbox', 'read-only', opts.prompt],
    { HOME: home, CODEX_HOME: codexHome, SLUICE_API_KEY: opts.apiKey },
    cwd,
    opts.timeoutMs ?? 90_000,
  );
}
