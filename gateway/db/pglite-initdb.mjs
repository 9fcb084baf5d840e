// `node pglite-initdb.mjs DIR`: initialises an embedded PGlite data directory and exits.
// initdb grows the WASM heap to ~800 MB, which a process never gives back while it runs; in a
// process of its own it is gone when this ends (pglite-host.ts runs it on a first start).
import { PGlite } from '@electric-sql/pglite';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: node pglite-initdb.mjs DATA_DIR');
const db = new PGlite(dataDir);
await db.waitReady;
await db.close();
