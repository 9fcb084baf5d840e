import { and, asc, desc, eq } from 'drizzle-orm';
import type { Database } from '../../gateway/db/client.ts';
import { evalDatasets, evalItems } from '../schema.ts';
import type { EvalItem } from './item.ts';
import { contentVersion, DatasetError } from './jsonl.ts';

export interface StoredDataset {
  id: string;
  name: string;
  version: string;
  items: EvalItem[];
}

const INSERT_BATCH = 500;

/**
 * Stores a dataset version. The version is the content hash, so saving identical items again
 * is a no-op that returns the existing version (concurrent savers converge on one row).
 */
export async function saveDataset(database: Pick<Database, 'db'>, name: string, items: EvalItem[], source: Record<string, unknown>): Promise<StoredDataset> {
  const version = contentVersion(items);
  return database.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(evalDatasets)
      .values({ name, version, itemCount: items.length, source })
      .onConflictDoNothing({ target: [evalDatasets.name, evalDatasets.version] })
      .returning({ id: evalDatasets.id });
    if (!row) {
      const [existing] = await tx
        .select({ id: evalDatasets.id })
        .from(evalDatasets)
        .where(and(eq(evalDatasets.name, name), eq(evalDatasets.version, version)));
      return { id: existing!.id, name, version, items };
    }
    for (let i = 0; i < items.length; i += INSERT_BATCH) {
      const batch = items.slice(i, i + INSERT_BATCH).map((item, j) => ({
        datasetId: row.id,
        itemId: item.item_id,
        position: i + j,
        data: item as unknown as Record<string, unknown>,
      }));
      await tx.insert(evalItems).values(batch);
    }
    return { id: row.id, name, version, items };
  });
}

/** A stored dataset by name: the given version, else the newest. */
export async function loadDataset(database: Pick<Database, 'db'>, name: string, version?: string): Promise<StoredDataset> {
  const where = version === undefined ? eq(evalDatasets.name, name) : and(eq(evalDatasets.name, name), eq(evalDatasets.version, version));
  const [ds] = await database.db.select().from(evalDatasets).where(where).orderBy(desc(evalDatasets.createdAt), desc(evalDatasets.id)).limit(1);
  if (!ds) throw new DatasetError(version === undefined ? `no dataset named '${name}'` : `dataset '${name}' has no version ${version}`);
  const rows = await database.db.select().from(evalItems).where(eq(evalItems.datasetId, ds.id)).orderBy(asc(evalItems.position));
  return { id: ds.id, name: ds.name, version: ds.version, items: rows.map((r) => r.data as unknown as EvalItem) };
}
