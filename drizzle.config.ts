import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // Every table: the gateway's (and the prompt registry's) through gateway/db/schema.ts, and the
  // eval tables, which evals/ owns (gateway/ never imports evals/).
  schema: ['./gateway/db/schema.ts', './evals/schema.ts'],
  out: './migrations',
});
