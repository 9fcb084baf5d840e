import type { Context, ErrorHandler } from 'hono';
import type { AuthenticatedKey } from '../auth/key-store.ts';
import { HTTPException } from 'hono/http-exception';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import { openaiErrorBody } from '../errors/render.ts';
import type { Logger } from '../logger.ts';
import type { AppEnv } from './env.ts';
import type { RejectionCounters } from './rejections.ts';

/** Where every error is rendered: in the shape of the face the request came to (OpenAI's elsewhere). */
export function errorHandler(logger: Logger, rejections?: RejectionCounters): ErrorHandler<AppEnv> {
  return (thrown, c) => renderError(thrown, c, logger, rejections);
}

/**
 * Renders an error, finishes the call's record with it (one record per authenticated call;
 * a call that never authenticated writes none) and counts rejections that leave no row.
 */
export function renderError(thrown: unknown, c: Context<AppEnv>, logger: Logger, rejections?: RejectionCounters): Response {
  {
    const err =
      thrown instanceof HTTPException && !(thrown instanceof GatewayError)
        ? new GatewayError(thrown.status === 413 ? 'body_too_large' : 'invalid_request', thrown.message || 'Bad request', {
            status: thrown.status,
          })
        : toGatewayError(thrown);
    const call = c.get('call');
    if (err.code === 'internal_error') {
      logger.error('internal error', {
        requestId: c.get('requestId'),
        callId: call?.record.id,
        err: thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown),
      });
    }
    const face = c.get('face');
    const body = face ? face.errorBody(err) : openaiErrorBody(err);
    call?.finishError(err, body);
    rejections?.count(err.code, (c.get('key') as AuthenticatedKey | undefined) !== undefined);
    const headers: Record<string, string> = { ...call?.limitHeaders };
    // No call id for a call that left no record (it never authenticated).
    if (call?.logged) {
      headers['x-sluice-call-id'] = call.record.id;
      if (call.record.route) headers['x-sluice-route'] = call.record.route;
      if (call.record.variant) headers['x-sluice-variant'] = call.record.variant;
    }
    if (err.retryAfter !== undefined && (err.status === 429 || err.status === 503)) headers['retry-after'] = String(Math.ceil(err.retryAfter));
    // The rest of an oversized body is never read: @hono/node-server drains it for at most
    // 500 ms and then destroys the socket, so a keep-alive client reusing it would fail.
    if (err.code === 'body_too_large') headers.connection = 'close';
    return c.json(body, err.status as 400, headers);
  };
}
