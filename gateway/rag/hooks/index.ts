import type { HookRegistry } from '../hooks.ts';
import { annotateCitationsHook } from './annotate-citations.ts';
import { maxQueryLengthHook } from './max-query-length.ts';
import { requireContextHook } from './require-context.ts';
import { retrieveHook } from './retrieve.ts';

/** Built-in RAG hooks by name; `createRag({ hooks })` adds more. */
export const hookRegistry = {
  retrieve: { phase: 'before', create: retrieveHook },
  'require-context': { phase: 'before', create: requireContextHook },
  'max-query-length': { phase: 'before', create: maxQueryLengthHook },
  'annotate-citations': { phase: 'after', create: annotateCitationsHook },
} as const satisfies HookRegistry;
