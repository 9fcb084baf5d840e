// Entry of the worker thread that runs PGlite (pglite-thread.ts). A worker does not inherit
// the loader a parent registered through tsx's API (gateway/cli/sluice.mjs, vitest), so it
// registers its own before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./pglite-thread.ts');
