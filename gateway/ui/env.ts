import type { ApiClient } from './api-client.ts';

/** Context variables of the dashboard's routes. */
export interface UiEnv {
  Variables: {
    /** The admin API as the signed-in operator. */
    api: ApiClient;
    sessionId: string;
    /** Wall clock, epoch ms (the app's injected clock). */
    clock: () => number;
  };
}
