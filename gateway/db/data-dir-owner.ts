import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * One owner for an embedded (PGlite) data directory, DESIGN §2. PGlite has no lock of its own:
 * two processes opening one directory each work on a private copy and the later writer wins,
 * so a CLI write next to a running server was silently lost. The process that opens the
 * directory first records itself in `owner.json`; everyone else reads that file and either
 * goes through the owning server or refuses.
 *
 * File operations are synchronous on purpose: they run once at start and exit (never on the
 * request path), and the `exit` hook that removes the file of a crashing process must be sync.
 */
export const OWNER_FILE = 'owner.json';
/** The server's local admin token (0600): how a CLI on the same machine gets into its admin API. */
export const TOKEN_FILE = 'admin.token';

export type OwnerKind = 'server' | 'cli';

export interface OwnerRecord {
  pid: number;
  kind: OwnerKind;
  /** Where the server listens (set once it does); absent while it starts and for a CLI. */
  url?: string;
  /**
   * The directory of the unix socket the server's PGlite thread serves (`psql -h` it): another
   * process of this user reaches the same database there while the server runs.
   */
  database_socket?: string;
  /** What a CLI owner is doing, e.g. `docs ingest`. */
  command?: string;
  started_at: string;
  hostname: string;
  /** Linux boot id + process start time: a pid reused after a crash is not taken for the owner. */
  process: string | null;
  /** Random per claim, so a process only ever removes its own file. */
  claim: string;
}

/** The directory is held by another live process; the message names it (pid, URL or command). */
export class DataDirBusyError extends Error {
  override readonly name = 'DataDirBusyError';
  constructor(
    readonly dataDir: string,
    readonly owner: OwnerRecord,
  ) {
    super(`the data directory ${dataDir} is in use by ${describeOwner(owner)}`);
  }
}

export function describeOwner(o: OwnerRecord): string {
  if (o.kind === 'server') return `the sluice server (pid ${o.pid}, ${o.url ?? 'still starting'})`;
  return `\`sluice ${o.command ?? '…'}\` (pid ${o.pid}, started ${o.started_at})`;
}

/** Identity of a running process beyond its pid; null where /proc is not available. */
export function processIdentity(pid: number): string | null {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
    const starttime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return starttime ? `${boot}:${starttime}` : null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, just not ours to signal
  }
}

/** Whether the process that wrote `o` is still running. */
export function ownerAlive(o: OwnerRecord): boolean {
  if (!Number.isInteger(o.pid) || o.pid <= 0 || !pidAlive(o.pid)) return false;
  if (o.process === null) return true;
  const now = processIdentity(o.pid);
  return now === null || now === o.process;
}

function parseOwner(text: string): OwnerRecord | null {
  try {
    const o = JSON.parse(text) as Partial<OwnerRecord> | null;
    if (!o || typeof o.pid !== 'number' || (o.kind !== 'server' && o.kind !== 'cli') || typeof o.claim !== 'string') return null;
    return { process: null, hostname: '?', started_at: '?', ...o } as OwnerRecord;
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Writes `text` to `path` as one atomic step: readers see the old file or the whole new one. */
function writeAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { flag: 'wx', mode });
  renameSync(tmp, path);
}

/** The live owner of `dataDir`, or null when there is none (no file, or its process is gone). */
export function liveOwner(dataDir: string): OwnerRecord | null {
  const text = readText(join(dataDir, OWNER_FILE));
  const owner = text === null ? null : parseOwner(text);
  return owner && ownerAlive(owner) ? owner : null;
}

export interface DataDirClaim {
  readonly dataDir: string;
  readonly owner: OwnerRecord;
  /**
   * Server: the URL it listens on and its local admin token (written 0600 before the URL), and
   * the socket directory of its embedded database.
   */
  announce(url: string, token: string, databaseSocket?: string): void;
  /** Removes the owner (and token) file if it is still this claim's. Idempotent. */
  release(): void;
}

/**
 * Makes this process the owner of `dataDir`, or throws DataDirBusyError naming the live owner.
 * A file left by a process that is gone is taken over.
 */
export function claimDataDir(dataDir: string, what: { kind: 'server' } | { kind: 'cli'; command: string }): DataDirClaim {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, OWNER_FILE);
  const record: OwnerRecord = {
    pid: process.pid,
    kind: what.kind,
    ...(what.kind === 'cli' ? { command: what.command } : {}),
    started_at: new Date().toISOString(),
    hostname: hostname(),
    process: processIdentity(process.pid),
    claim: randomBytes(12).toString('hex'),
  };
  const text = `${JSON.stringify(record, null, 2)}\n`;
  // Bounded: each round either creates the file, finds a live owner, or removes a stale one.
  for (let attempt = 0; attempt < 5; attempt++) {
    // link() is the atomic "create if absent" that also carries the full content.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, text, { flag: 'wx' });
    try {
      linkSync(tmp, path);
      return startClaim(dataDir, record);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkQuiet(tmp);
    }
    const existingText = readText(path);
    if (existingText === null) continue;
    const existing = parseOwner(existingText);
    if (existing && ownerAlive(existing)) throw new DataDirBusyError(dataDir, existing);
    takeOverStale(dataDir, existingText);
  }
  const owner = liveOwner(dataDir);
  if (owner) throw new DataDirBusyError(dataDir, owner);
  throw new Error(`could not claim the data directory ${dataDir}: ${OWNER_FILE} keeps changing`);
}

/**
 * Moves a stale owner file aside. Another process may have replaced it with a fresh claim
 * between our read and the rename: then the moved file is not the stale text, and it is put
 * back (link fails if yet another claim landed meanwhile, which then stands).
 */
function takeOverStale(dataDir: string, staleText: string): void {
  const path = join(dataDir, OWNER_FILE);
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      // a newer claim is in place
    }
  } else {
    // The token of a server that died is worthless; do not leave it lying around.
    const stale = parseOwner(staleText);
    if (stale?.kind === 'server') unlinkQuiet(join(dataDir, TOKEN_FILE));
  }
  unlinkQuiet(aside);
}

function startClaim(dataDir: string, record: OwnerRecord): DataDirClaim {
  const ownerPath = join(dataDir, OWNER_FILE);
  const tokenPath = join(dataDir, TOKEN_FILE);
  let current = record;
  let released = false;
  const mine = (): boolean => {
    const text = readText(ownerPath);
    return text !== null && parseOwner(text)?.claim === record.claim;
  };
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    if (!mine()) return;
    if (current.kind === 'server') unlinkQuiet(tokenPath);
    unlinkQuiet(ownerPath);
  };
  // A crash (uncaught error, process.exit) still runs 'exit' handlers; SIGKILL leaves a stale file.
  process.on('exit', release);
  return {
    dataDir,
    get owner() {
      return current;
    },
    announce(url, token, databaseSocket) {
      if (released || !mine()) throw new Error(`the claim on ${dataDir} was lost`);
      writeAtomic(tokenPath, `${token}\n`, 0o600);
      current = { ...current, url, ...(databaseSocket ? { database_socket: databaseSocket } : {}) };
      writeAtomic(ownerPath, `${JSON.stringify(current, null, 2)}\n`);
    },
    release,
  };
}

/** The local admin token of the server owning `dataDir`, or null when it cannot be read. */
export function readLocalToken(dataDir: string): string | null {
  try {
    const token = readFileSync(join(dataDir, TOKEN_FILE), 'utf8').trim();
    return token === '' ? null : token;
  } catch {
    return null;
  }
}
