import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimDataDir, DataDirBusyError, liveOwner, OWNER_FILE, processIdentity, readLocalToken, TOKEN_FILE, type OwnerRecord } from './data-dir-owner.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-owner-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The pid of a process that has exited (its owner file is stale). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function writeOwner(dir: string, record: Partial<OwnerRecord>): void {
  const full: OwnerRecord = { pid: 1, kind: 'server', started_at: '2026-01-01T00:00:00Z', hostname: 'h', process: null, claim: 'x', ...record };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(full));
}

describe('data directory owner', () => {
  it('a second claim on a held directory fails naming the owner; release frees it', () => {
    const dir = tempDir();
    const claim = claimDataDir(dir, { kind: 'cli', command: 'docs ingest' });
    expect(liveOwner(dir)).toMatchObject({ pid: process.pid, kind: 'cli', command: 'docs ingest' });
    let err: unknown;
    try {
      claimDataDir(dir, { kind: 'server' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataDirBusyError);
    expect((err as Error).message).toContain(`\`sluice docs ingest\` (pid ${process.pid}`);
    claim.release();
    expect(existsSync(join(dir, OWNER_FILE))).toBe(false);
    expect(liveOwner(dir)).toBeNull();
    claimDataDir(dir, { kind: 'server' }).release();
  });

  it('announce writes a 0600 token before the URL (and the database socket); release removes both', () => {
    const dir = tempDir();
    const claim = claimDataDir(dir, { kind: 'server' });
    expect(liveOwner(dir)?.url).toBeUndefined();
    claim.announce('http://127.0.0.1:1234', 'sk-sluice-local-abc', join(dir, 'pgdata.sock'));
    expect(liveOwner(dir)).toMatchObject({ kind: 'server', url: 'http://127.0.0.1:1234', pid: process.pid, database_socket: join(dir, 'pgdata.sock') });
    expect(readLocalToken(dir)).toBe('sk-sluice-local-abc');
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    expect(() => claimDataDir(dir, { kind: 'cli', command: 'migrate' })).toThrow(`the sluice server (pid ${process.pid}, http://127.0.0.1:1234)`);
    claim.release();
    expect(existsSync(join(dir, TOKEN_FILE))).toBe(false);
    expect(existsSync(join(dir, OWNER_FILE))).toBe(false);
  });

  it('takes over the file of a process that is gone, and drops its token', () => {
    const dir = tempDir();
    writeOwner(dir, { pid: deadPid(), kind: 'server', url: 'http://127.0.0.1:9', claim: 'old' });
    writeFileSync(join(dir, TOKEN_FILE), 'sk-sluice-local-dead');
    expect(liveOwner(dir)).toBeNull();
    const claim = claimDataDir(dir, { kind: 'cli', command: 'keys list' });
    expect(JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'))).toMatchObject({ pid: process.pid, kind: 'cli' });
    expect(existsSync(join(dir, TOKEN_FILE))).toBe(false);
    claim.release();
  });

  it('a live pid with another process identity is a reused pid, not the owner', () => {
    const dir = tempDir();
    const identity = processIdentity(process.pid);
    if (identity === null) return; // no /proc here: the pid check alone applies
    writeOwner(dir, { pid: process.pid, process: `${identity}-earlier`, claim: 'old' });
    expect(liveOwner(dir)).toBeNull();
    writeOwner(dir, { pid: process.pid, process: identity, claim: 'same' });
    expect(liveOwner(dir)).toMatchObject({ claim: 'same' });
  });

  it('a corrupt owner file is stale; release never removes a file another claim wrote', () => {
    const dir = tempDir();
    writeFileSync(join(dir, OWNER_FILE), '{"pid":');
    const claim = claimDataDir(dir, { kind: 'cli', command: 'migrate' });
    writeOwner(dir, { pid: process.pid, process: processIdentity(process.pid), claim: 'someone-else' });
    claim.release();
    expect(liveOwner(dir)).toMatchObject({ claim: 'someone-else' });
  });
});
