import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { CallTracker } from '../calls/tracker.ts';

/** Hono context variables, declared once for the whole app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    key: AuthenticatedKey;
    /** Present on endpoints whose calls are logged. */
    call: CallTracker | undefined;
  };
}
