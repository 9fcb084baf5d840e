import { readFileSync } from 'node:fs';
import { inject, vi } from 'vitest';

/**
 * Every in-memory PGlite a test opens (`new PGlite()` with no data directory, as
 * openDatabase({}) does) loads the cluster that pglite-snapshot.global.ts initialised once,
 * instead of running initdb again: the same PGlite build, the same fresh cluster, nothing
 * migrated. PGlites over a data directory (and those in spawned processes and threads) are
 * untouched.
 */
vi.mock('@electric-sql/pglite', async (importOriginal) => {
  const mod = await importOriginal<typeof import('@electric-sql/pglite')>();
  let snapshot: Buffer | undefined;
  class PGlite extends mod.PGlite {
    constructor(...args: ConstructorParameters<typeof mod.PGlite>) {
      if (args.length === 0) {
        snapshot ??= readFileSync(inject('pgliteSnapshot'));
        super({ loadDataDir: new Blob([snapshot]) });
      } else {
        super(...args);
      }
    }
  }
  return { ...mod, PGlite };
});
