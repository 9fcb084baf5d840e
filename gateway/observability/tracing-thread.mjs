// Entry of the thread that exports spans (tracing-thread.ts). A worker does not inherit the
// loader a parent registered through tsx's API (gateway/cli/sluice.mjs, vitest), so it
// registers its own before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./tracing-thread.ts');
