import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.ts';

/** workerData of pglite-thread.ts. */
export interface ThreadData {
  dataDir: string;
  socketPath: string;
  /** pglite.wasm compiled by the host (asynchronously, off its event loop). */
  pglite: WebAssembly.Module;
}
export type ThreadRequest = { type: 'migrate'; folder: string } | { type: 'close' };
export type ThreadReply = { type: 'ready' } | { type: 'migrated'; error?: string } | { type: 'closed' };

const THREAD_ENTRY = threadEntry('pglite-thread', import.meta.url);
const INITDB_SCRIPT = fileURLToPath(new URL('./pglite-initdb.mjs', import.meta.url));
/** Linux allows 107 bytes in a unix socket path. */
const MAX_SOCKET_PATH = 100;
const CLOSE_TIMEOUT_MS = 30_000;

export interface PgliteThread {
  /** The directory holding the socket `.s.PGSQL.5432`, as `psql -h` and postgres.js `host` take it. */
  readonly socketDir: string;
  readonly socketPath: string;
  /**
   * Applies drizzle-kit migrations from `folder` inside the thread, on PGlite directly: three
   * times faster than statement by statement over the socket. Run before anyone else connects.
   */
  migrate(folder: string): Promise<void>;
  /** Called once if the thread dies while it should be serving. */
  onFailure(listener: (err: Error) => void): void;
  /** Closes PGlite in the thread (a clean shutdown of the directory) and ends it. */
  close(): Promise<void>;
}

/**
 * Runs the embedded PGlite of `dataDir` in a worker thread that serves it over the Postgres
 * wire protocol on a unix socket: the request loop never executes SQL, and another process of
 * this user (the CLI) can connect while the server runs. The caller owns `dataDir`
 * (data-dir-owner.ts). `entry` replaces the thread's script (tests).
 */
export async function startPgliteThread(dataDir: string, opts: { entry?: URL } = {}): Promise<PgliteThread> {
  const entry = opts.entry ?? THREAD_ENTRY;
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // initdb grows the WASM heap to ~800 MB: in a thread, part of it stayed with the process.
    await promisify(execFile)(process.execPath, [INITDB_SCRIPT, dataDir], { maxBuffer: 1024 * 1024 });
  }
  const pglite = await compileWasm();
  const { dir: socketDir, temporary } = socketDirFor(dataDir);
  const socketPath = join(socketDir, '.s.PGSQL.5432');
  const thread = spawn(entry, { dataDir, socketPath, pglite });
  let closing = false;
  let failure: Error | undefined;
  const listeners: Array<(err: Error) => void> = [];
  const fail = (err: Error): void => {
    if (closing || failure) return;
    failure = err;
    for (const l of listeners) l(err);
  };
  thread.exited.then(
    (code) => fail(new Error(`the embedded database thread exited (code ${code}) while serving ${dataDir}`)),
    (err: unknown) => fail(new Error(`the embedded database thread failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })),
  );
  try {
    await thread.ready;
  } catch (err) {
    closing = true;
    await thread.worker.terminate();
    if (temporary) rmSync(socketDir, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    socketDir,
    socketPath,
    async migrate(folder) {
      const reply = new Promise<ThreadReply & { type: 'migrated' }>((resolve) => {
        const on = (m: ThreadReply) => {
          if (m.type !== 'migrated') return;
          thread.worker.off('message', on);
          resolve(m);
        };
        thread.worker.on('message', on);
      });
      thread.worker.postMessage({ type: 'migrate', folder } satisfies ThreadRequest);
      const outcome = await Promise.race([reply, thread.exited.then(() => null, () => null)]);
      if (outcome === null) throw failure ?? new Error('the embedded database thread ended while migrating');
      if (outcome.error !== undefined) throw new Error(`migrating the embedded database failed: ${outcome.error}`);
    },
    onFailure(listener) {
      if (failure) listener(failure);
      else listeners.push(listener);
    },
    close() {
      closed ??= (async () => {
        closing = true;
        if (failure) return;
        const done = new Promise<void>((resolve) => thread.worker.on('message', (m: ThreadReply) => m.type === 'closed' && resolve()));
        thread.worker.postMessage({ type: 'close' } satisfies ThreadRequest);
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS).unref());
        const outcome = await Promise.race([done.then(() => 'closed' as const), thread.exited.then(() => 'exited' as const, () => 'exited' as const), timer]);
        if (outcome !== 'exited') await thread.worker.terminate();
        if (temporary) rmSync(socketDir, { recursive: true, force: true });
        if (outcome === 'timeout') throw new Error(`the embedded database thread did not close ${dataDir} within ${CLOSE_TIMEOUT_MS / 1000} s`);
      })();
      return closed;
    },
  };
}

/** Node's WebAssembly global; the ES2023 lib (no DOM) only declares its types. */
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;

async function compileWasm(): Promise<WebAssembly.Module> {
  return wasmApi.compile(await readFile(fileURLToPath(import.meta.resolve('@electric-sql/pglite/pglite.wasm'))));
}

interface Spawned {
  worker: Worker;
  /** Resolves on the thread's `ready`; rejects if it fails or exits first. */
  ready: Promise<void>;
  /** The exit code; rejects with the thread's uncaught error. */
  exited: Promise<number>;
}

/**
 * The parent's flags without `--import tsx`: the thread's entry registers tsx itself (a worker
 * does not inherit an API registration), and run under `node --import tsx` it would otherwise
 * load and register it twice (~11 MB of resident memory for nothing).
 */
export function threadExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  const isTsx = (v: string | undefined): boolean => v !== undefined && /^tsx(\/|$)/.test(v);
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a === '--import' && isTsx(execArgv[i + 1])) {
      i++;
      continue;
    }
    if (a.startsWith('--import=') && isTsx(a.slice('--import='.length))) continue;
    out.push(a);
  }
  return out;
}

/**
 * The thread's young generation, in MB. Its JavaScript only relays wire-protocol messages, and
 * V8's default (up to 32 MB, as for the request loop) fills before each collection: capped,
 * the process holds ~20 MB less under load (bench/memory.ts; issue 20's 300 MB goal).
 */
const THREAD_YOUNG_GENERATION_MB = 4;

function spawn(entry: URL, data: ThreadData): Spawned {
  const worker = new Worker(entry, {
    workerData: data,
    execArgv: threadExecArgv(process.execArgv),
    resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
  });
  let error: unknown;
  worker.on('error', (err) => {
    error = err;
  });
  const exited = new Promise<number>((resolve, reject) => worker.once('exit', (code) => (error === undefined ? resolve(code) : reject(error))));
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: ThreadReply) => m.type === 'ready' && resolve());
    exited.then(
      (code) => reject(new Error(`the embedded database thread exited (code ${code}) before it was ready`)),
      reject,
    );
  });
  // Whoever awaits `exited` sees the outcome; an unawaited rejection must not crash the process.
  exited.catch(() => {});
  return { worker, ready, exited };
}

/**
 * A 0700 directory for the socket beside the data directory (`pgdata.sock/`), or a fresh one
 * under the system temp directory when that path would be too long for a unix socket.
 */
function socketDirFor(dataDir: string): { dir: string; temporary: boolean } {
  const beside = `${dataDir.replace(/\/+$/, '')}.sock`;
  if (join(beside, '.s.PGSQL.5432').length <= MAX_SOCKET_PATH) {
    mkdirSync(beside, { recursive: true, mode: 0o700 });
    chmodSync(beside, 0o700);
    return { dir: beside, temporary: false };
  }
  return { dir: mkdtempSync(join(tmpdir(), 'sluice-pg-')), temporary: true };
}
