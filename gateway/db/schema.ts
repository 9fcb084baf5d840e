/** Every table, gathered for drizzle-kit and the typed client. Each module owns its own file. */
export * from '../auth/schema.ts';
export * from '../calls/schema.ts';
export * from '../../prompts/schema.ts';
export * from '../routing/schema.ts';
export * from '../cache/schema.ts';
export * from '../faces/responses/schema.ts';
export * from '../../evals/schema.ts';
export * from '../rag/schema.ts';
