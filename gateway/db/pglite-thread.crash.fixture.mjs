// A stand-in for pglite-thread.mjs that serves for a moment and then dies, as a thread that
// hits a WASM abort would (pglite-host.test.ts).
import { register } from 'tsx/esm/api';

register();
await import('./pglite-thread.ts');
setTimeout(() => {
  throw new Error('the thread died on purpose');
}, 200);
