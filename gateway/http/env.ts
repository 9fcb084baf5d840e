import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { CallTracker } from '../calls/tracker.ts';
import type { Face } from '../faces/face.ts';

/** Hono context variables, declared once for the whole app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    key: AuthenticatedKey;
    /** Present on endpoints whose calls are logged. */
    call: CallTracker | undefined;
    /** The face whose path the request is under: its error shape is the one answered. */
    face: Face | undefined;
  };
}
