import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A tar of a fresh in-memory PGlite's data directory, just after initdb (pglite-snapshot.ts). */
    pgliteSnapshot: string;
    /** A data directory the gateway's own initdb script initialised (test/helpers/pglite-data-dir.ts). */
    pgliteDataDirTemplate: string;
  }
}

const INITDB_SCRIPT = fileURLToPath(new URL('../../gateway/db/pglite-initdb.mjs', import.meta.url));

/**
 * Runs initdb once for the whole run: a new PGlite takes seconds of CPU to initialise its
 * cluster (the WASM initdb), and the suite opens a few hundred of them. The test files'
 * in-memory PGlites start from a snapshot (test/setup/pglite-snapshot.ts); tests that only need
 * an embedded data directory to exist copy the template (test/helpers/pglite-data-dir.ts).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pglite-snapshot-'));
  const file = join(dir, 'initdb.tar');
  const template = join(dir, 'pgdata');
  const inMemory = (async () => {
    const db = new PGlite();
    await db.waitReady;
    writeFileSync(file, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
    await db.close();
  })();
  await Promise.all([inMemory, promisify(execFile)(process.execPath, [INITDB_SCRIPT, template], { maxBuffer: 1024 * 1024 })]);
  project.provide('pgliteSnapshot', file);
  project.provide('pgliteDataDirTemplate', template);
  return () => rmSync(dir, { recursive: true, force: true });
}
