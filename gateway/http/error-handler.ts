import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import { anthropicErrorBody, openaiErrorBody } from '../errors/render.ts';
import type { Logger } from '../logger.ts';
import type { AppEnv } from './env.ts';

/** Where every error is rendered: OpenAI's shape, Anthropic's on /v1/messages. */
export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return (thrown, c) => renderError(thrown, c, logger);
}

export function renderError(thrown: unknown, c: Context<AppEnv>, logger: Logger): Response {
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
    const body = c.req.path.startsWith('/v1/messages') ? anthropicErrorBody(err) : openaiErrorBody(err);
    call?.finishError(err, body);
    const headers: Record<string, string> = {};
    if (call) {
      headers['x-sluice-call-id'] = call.record.id;
      if (call.record.route) headers['x-sluice-route'] = call.record.route;
      if (call.record.variant) headers['x-sluice-variant'] = call.record.variant;
    }
    if (err.retryAfter !== undefined && err.status === 429) headers['retry-after'] = String(Math.ceil(err.retryAfter));
    // The rest of an oversized body is never read: @hono/node-server drains it for at most
    // 500 ms and then destroys the socket, so a keep-alive client reusing it would fail.
    if (err.code === 'body_too_large') headers.connection = 'close';
    return c.json(body, err.status as 400, headers);
  };
}
