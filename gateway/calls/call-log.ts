import { join } from 'node:path';
import type { SluiceConfig } from '../config/schema.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { PartitionMaintainer } from './partitions.ts';
import { providerSecrets } from '../providers/scrub-secrets.ts';
import { discardSink, type CallSink } from './record.ts';
import { CallLogWriter, type CallLogStats } from './writer.ts';

export interface CallLog {
  sink: CallSink;
  stats(): CallLogStats | { enabled: false };
  /** Drains the queue (and spool) into the database; resolves when nothing is only in memory. */
  stop(): Promise<void>;
}

/** The durable call log (issue 3): partitions kept ahead, a batched writer with a file spool. */
export async function startCallLog(config: SluiceConfig, database: Database, opts: { dataDir: string; logger: Logger }): Promise<CallLog> {
  const logging = config.logging;
  if (!logging.enabled) return { sink: discardSink, stats: () => ({ enabled: false }), stop: async () => {} };
  const maintainer = new PartitionMaintainer({ database, logger: opts.logger, retentionDays: logging.retention_days });
  await maintainer.start();
  const writer = new CallLogWriter({
    database,
    spoolDir: join(opts.dataDir, 'spool'),
    queueMax: logging.queue_max,
    queueMaxBytes: logging.queue_max_bytes,
    // Embedded PGlite runs on the event loop: smaller batches keep each write's pause short.
    batchSize: database.kind === 'pglite' ? Math.min(logging.batch_size, 100) : logging.batch_size,
    flushMs: logging.flush_ms,
    payloads: {
      enabled: logging.payloads,
      maxBytes: logging.payload_max_bytes,
      redactFields: logging.redact_fields,
      redactPatterns: logging.redact_patterns,
      // Provider credentials are scrubbed from everything stored, wherever an upstream echoed them.
      secrets: Object.values(config.providers).flatMap((p) => providerSecrets(p)),
      routes: Object.fromEntries(Object.entries(config.routes).flatMap(([name, r]) => (r.payloads ? [[name, r.payloads]] : []))),
    },
    logger: opts.logger,
    wal: logging.wal.enabled ? { fsyncMs: logging.wal.fsync_ms, mapped: logging.wal.mmap } : undefined,
  });
  writer.start();
  return {
    sink: writer,
    stats: () => writer.stats(),
    async stop() {
      maintainer.stop();
      await writer.close();
    },
  };
}
