import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, and the real `sluice` entry the tests spawn. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'gateway/cli/sluice.mjs');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `sluice <args>` as its own process, asynchronously (a server under test may be running in
 * this process's event loop). Only what the CLI needs is in its environment: no DATABASE_URL or
 * SLUICE_ADMIN_KEY leaks in from the test runner's.
 */
export function sluice(args: string[], env: Record<string, string>, cwd = REPO): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', USER: 'tester', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
