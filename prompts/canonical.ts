import { createHash } from 'node:crypto';
import { contentHashJson } from '../core/canonical-json.ts';
import type { PromptContent } from './types.ts';

/**
 * sha256 (hex) of the canonical JSON of exactly the fields that make up a version's content.
 * Stored with each version: contentHashJson keeps it the same for the same content forever.
 */
export function contentHash(content: PromptContent): string {
  const { messages, model, params, variables } = content;
  return createHash('sha256').update(contentHashJson({ messages, model, params, variables })).digest('hex');
}
