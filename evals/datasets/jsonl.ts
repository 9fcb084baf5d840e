import { createHash } from 'node:crypto';
import { contentHashJson } from '../../core/canonical-json.ts';
import { itemLineSchema, toEvalItem, type EvalItem } from './item.ts';

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/**
 * Parses JSONL: one item per non-blank line. An item without `id` is named by its 0-based line
 * number (DESIGN §6). Errors name the 1-based line, as editors show it.
 */
export function parseJsonl(text: string, source = 'dataset'): EvalItem[] {
  const items: EvalItem[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new DatasetError(`${source} line ${index + 1}: not valid JSON (${(err as Error).message})`);
    }
    items.push(validateItem(value, index, `${source} line ${index + 1}`, seen));
  });
  if (items.length === 0) throw new DatasetError(`${source}: no items`);
  return items;
}

/** Items given inline (a job's `dataset.items`); ids default to the 0-based position. */
export function parseItems(values: readonly unknown[], source = 'dataset.items'): EvalItem[] {
  const seen = new Map<string, number>();
  return values.map((v, i) => validateItem(v, i, `${source}.${i}`, seen));
}

function validateItem(value: unknown, position: number, where: string, seen: Map<string, number>): EvalItem {
  const r = itemLineSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
    const msg = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    throw new DatasetError(`${where}: ${field}${msg}`);
  }
  const item = toEvalItem(r.data, position);
  const before = seen.get(item.item_id);
  if (before !== undefined) throw new DatasetError(`${where}: duplicate id '${item.item_id}' (also at ${before})`);
  seen.set(item.item_id, position);
  return item;
}

/** The dataset version, stored: sha256 of the canonical JSON of the items in order (first 16 hex). */
export function contentVersion(items: readonly EvalItem[]): string {
  return createHash('sha256').update(contentHashJson(items)).digest('hex').slice(0, 16);
}
