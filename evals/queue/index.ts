import type { Database } from '../../gateway/db/client.ts';
import type { Logger } from '../../gateway/logger.ts';
import { pgBossQueue } from './pg-boss-queue.ts';
import { tableQueue } from './table-queue.ts';
import type { EvalQueue } from './types.ts';

export type { EvalQueue } from './types.ts';
export { claimRun } from './claim.ts';

/**
 * pg-boss when DATABASE_URL names a Postgres server; the SKIP LOCKED table queue with embedded
 * PGlite (pg-boss opens its own `pg` connections, which PGlite cannot accept; and an embedded
 * database serves one process anyway).
 */
export async function openEvalQueue(database: Database, opts: { databaseUrl?: string | undefined; logger: Logger }): Promise<EvalQueue> {
  if (opts.databaseUrl && database.kind === 'postgres') return pgBossQueue({ url: opts.databaseUrl, database, logger: opts.logger });
  return tableQueue(database);
}
