import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { ThreadData, ThreadReply, ThreadRequest } from './pglite-host.ts';
import { serveWire } from './pglite-wire.ts';

/**
 * The worker thread that owns the embedded PGlite (pglite-host.ts starts it): it opens the
 * initialised directory and serves it on a unix socket until the host asks it to close.
 */
const data = workerData as ThreadData;
const port = parentPort;
if (!port) throw new Error('pglite-thread.ts runs as a worker thread (pglite-host.ts)');
const reply = (m: ThreadReply): void => port.postMessage(m);

const db = new PGlite(data.dataDir, {
  pgliteWasmModule: data.pglite,
  // Postgres' default of 128 MB is ~130 MB of resident WASM heap once touched. One client
  // process, and the OS page cache under PGlite's files, make 4 MB enough. Measured under
  // 50-connection load (bench/call-log.ts, issue 20's 300 MB goal): the process peaked at 280-284
  // MB with 4 MB, 293-306 MB with 8 MB (growing round by round), ~340 MB with 16 MB; throughput
  // within the runs' noise (embedded ÷ Postgres mode 0.84 and 1.02 in two runs).
  postgresqlconf: 'shared_buffers = 4MB',
});
await db.waitReady;
const wire = await serveWire(db, data.socketPath);
port.on('message', (m: ThreadRequest) => {
  switch (m.type) {
    case 'migrate':
      migrate(drizzle(db), { migrationsFolder: m.folder }).then(
        () => reply({ type: 'migrated' }),
        (err: unknown) => reply({ type: 'migrated', error: err instanceof Error ? err.message : String(err) }),
      );
      return;
    case 'close':
      void (async () => {
        await wire.close();
        // Closing checkpoints and flushes: the directory is consistent when the thread ends.
        await db.close();
        reply({ type: 'closed' });
        port.close();
      })();
      return;
  }
});
reply({ type: 'ready' });
