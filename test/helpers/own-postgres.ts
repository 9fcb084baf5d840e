import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A Postgres server of the test's own (initdb + pg_ctl on a free loopback port under a temp
 * dir), so a test may kill it mid-load (`stop('immediate')` is a crash: no checkpoint, clients
 * cut) and bring it back on the same port. Needs the server binaries: PG_BIN, else the newest
 * /usr/lib/postgresql/<v>/bin. As root, the binaries run as the `postgres` user via runuser,
 * because initdb and postgres refuse to run as root.
 *
 *   const reason = ownPostgresUnavailable();
 *   describe.skipIf(reason !== null)('…', () => { … startOwnPostgres() … });
 */
export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres — the same across stop/start. */
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** `immediate` is a crash (no shutdown checkpoint, connections cut); `fast` is a clean stop. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory (recovers after `immediate`). */
  start(): Promise<void>;
  /** Stops it (if running) and deletes the data directory. */
  close(): Promise<void>;
}

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

function findBinDir(): string | null {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

const BIN = findBinDir();

/** Why this machine cannot run a Postgres of its own, or null when it can. Cheap; call at import. */
export function ownPostgresUnavailable(): string | null {
  const reason = unavailableReason();
  // A user's machine may lack the server binaries (the tests then skip with a warning); CI has
  // them, so there a missing binary is a failure, never a silent skip.
  if (reason && process.env.CI) throw new Error(`the Postgres outage tests need their own server, and CI must run them: ${reason}`);
  return reason;
}

function unavailableReason(): string | null {
  if (!BIN || !existsSync(join(BIN, 'initdb')) || !existsSync(join(BIN, 'pg_ctl'))) {
    return `no initdb/pg_ctl found (${BIN ?? '/usr/lib/postgresql/*/bin'}); set PG_BIN`;
  }
  if (!isRoot) return null;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    execFileSync('runuser', ['--help'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'running as root, and there is no postgres user or runuser to run initdb as';
  }
}

/** Runs a server binary, as the postgres user when we are root. */
function pg(tool: string, args: string[]): Promise<{ stdout: string }> {
  const bin = join(BIN!, tool);
  return isRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** initdb (trust auth, fsync off: this is a throwaway) and start it on a free port. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const reason = ownPostgresUnavailable();
  if (reason) throw new Error(`cannot run a Postgres of our own: ${reason}`);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);

  let port = 0;
  let running = false;
  const launch = async () => {
    await pg('pg_ctl', [
      '-D', data, '-l', log, '-w', '-t', '30',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50`,
      'start',
    ]);
    running = true;
  };
  // The free port can be taken between probing and binding; try a few.
  for (let tries = 0; ; tries++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (tries >= 2) {
        const tail = await readFile(log, 'utf8').catch(() => '');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`pg_ctl start failed: ${String(err)}\n${tail.slice(-2000)}`);
      }
    }
  }

  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    if (!running) return;
    await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
    running = false;
  };
  // A test process that ends without its afterAll (a timeout, a crash) must not leave a server behind.
  const onExit = () => {
    if (!running) return;
    const args = ['-D', data, '-m', 'immediate', 'stop'];
    try {
      if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(BIN!, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(join(BIN!, 'pg_ctl'), args, { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // nothing more to do on the way out
    }
  };
  process.once('exit', onExit);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get running() {
      return running;
    },
    stop,
    async start() {
      if (!running) await launch();
    },
    async close() {
      process.off('exit', onExit);
      await stop('immediate').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
