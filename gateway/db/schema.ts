/**
 * The gateway's tables (and the prompt registry's), gathered for the typed client. Each module
 * owns its own file. The eval tables are evals/schema.ts: drizzle-kit reads both files
 * (drizzle.config.ts), so the migrations cover every table.
 */
export * from '../auth/schema.ts';
export * from '../calls/schema.ts';
export * from '../../prompts/schema.ts';
export * from '../routing/schema.ts';
export * from '../cache/schema.ts';
export * from '../faces/responses/schema.ts';
export * from '../rag/schema.ts';
export * from '../governance/schema.ts';
export * from '../ui/schema.ts';
