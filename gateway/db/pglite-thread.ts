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
  // process, and the OS page cache under PGlite's files, make 16 MB enough.
  postgresqlconf: 'shared_buffers = 16MB',
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
