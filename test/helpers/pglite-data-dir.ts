import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * Gives SLUICE_DATA_DIR `dir` an initialised embedded cluster (`pgdata`, nothing migrated), copied
 * from the one gateway/db/pglite-initdb.mjs made at the start of the run, so a test whose point is
 * not the first start skips the seconds of CPU a WASM initdb takes. The first start itself stays
 * covered (gateway/db/pglite-host.test.ts, test/integration/server.test.ts, env-entry, sigkill).
 */
export function seedDataDir(dir: string): void {
  const pgdata = join(dir, 'pgdata');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) cpSync(inject('pgliteDataDirTemplate'), pgdata, { recursive: true });
}
