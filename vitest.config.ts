import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'gateway/**/*.test.ts', 'prompts/**/*.test.ts', 'evals/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // initdb once per run (test/setup): in-memory PGlites start from that cluster, seeded data dirs copy it.
    globalSetup: ['test/setup/pglite-snapshot.global.ts'],
    setupFiles: ['test/setup/pglite-snapshot.ts'],
    // Integration tests start real servers and databases; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
