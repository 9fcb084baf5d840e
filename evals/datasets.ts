import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Database } from '../gateway/db/client.ts';
import { itemsFromLogs, type FromLogsOptions } from './datasets/from-logs.ts';
import type { EvalItem } from './datasets/item.ts';
import { DatasetError, parseItems, parseJsonl } from './datasets/jsonl.ts';
import { loadDataset, saveDataset, type StoredDataset } from './datasets/store.ts';
import type { DatasetSpec } from './job.ts';

/**
 * Datasets (issue 10 §1): a job's `dataset` resolved to stored, versioned items. JSONL files and
 * inline items are validated and stored under the dataset's name (the file name without its
 * extension unless `name` is given), versioned by content hash; `{name}` loads a stored one;
 * `{from_logs}` samples logged calls and stores the sample like any other version.
 */
export { DatasetError, parseJsonl, contentVersion } from './datasets/jsonl.ts';
export { loadDataset, saveDataset, type StoredDataset } from './datasets/store.ts';
export { itemsFromLogs, type LoggedItem } from './datasets/from-logs.ts';
export { type EvalItem, contextOf, questionOf } from './datasets/item.ts';

export async function importJsonl(database: Pick<Database, 'db'>, path: string, name?: string): Promise<StoredDataset> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read dataset ${path}: ${(err as Error).message}`);
  }
  const items = parseJsonl(text, basename(path));
  return saveDataset(database, name ?? basename(path, extname(path)), items, { path });
}

export async function resolveDataset(
  database: Pick<Database, 'db'>,
  spec: DatasetSpec,
  jobName: string,
  opts: FromLogsOptions,
): Promise<StoredDataset> {
  if ('path' in spec) return importJsonl(database, spec.path, spec.name);
  if ('items' in spec) return saveDataset(database, spec.name ?? jobName, parseItems(spec.items), { inline: true });
  if ('from_logs' in spec) {
    const items = await itemsFromLogs(database, spec.from_logs, opts);
    if (items.length === 0) throw new DatasetError('from_logs: no logged calls match the filter');
    const plain: EvalItem[] = items.map(({ call: _call, ...item }) => item);
    return saveDataset(database, spec.name ?? `${jobName}-logs`, plain, { from_logs: spec.from_logs });
  }
  return loadDataset(database, spec.name, spec.version);
}
