import type { ErrorCode } from '../errors/gateway-error.ts';

/**
 * Requests turned away that leave no call row, counted instead (issue 14 item 7): a row per
 * unauthenticated request would let anyone without a key fill the call log. One small object
 * per app, read by /healthz and, through `snapshot()`, by `sluice_rejections_total{reason}`.
 */
export type RejectionReason = 'unauthenticated' | 'auth_unavailable';

export const REJECTION_REASONS: readonly RejectionReason[] = ['unauthenticated', 'auth_unavailable'];

/** Which rendered errors are rejections. A closed map: other codes are not counted here. */
const REASON_OF: Partial<Record<ErrorCode, RejectionReason>> = {
  missing_api_key: 'unauthenticated',
  invalid_api_key: 'unauthenticated',
};

export class RejectionCounters {
  private readonly counts: Record<RejectionReason, number> = { unauthenticated: 0, auth_unavailable: 0 };

  /**
   * Counts an error the gateway answered with. `authenticated` is false when the request never
   * got past auth: a 503 then means the key could not be checked (Postgres down).
   */
  count(code: ErrorCode, authenticated: boolean): void {
    const reason = REASON_OF[code] ?? (!authenticated && code === 'service_unavailable' ? 'auth_unavailable' : undefined);
    if (reason) this.counts[reason]++;
  }

  snapshot(): Readonly<Record<RejectionReason, number>> {
    return { ...this.counts };
  }
}
