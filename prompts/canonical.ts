import { createHash } from 'node:crypto';
import type { PromptContent } from './types.ts';

/** JSON with object keys sorted at every depth and no whitespace: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

/** sha256 (hex) of the canonical JSON of exactly the fields that make up a version's content. */
export function contentHash(content: PromptContent): string {
  const { messages, model, params, variables } = content;
  return createHash('sha256').update(canonicalJson({ messages, model, params, variables })).digest('hex');
}
