import { PromptError } from '../../prompts/errors.ts';

/**
 * The one error model. Every failure the gateway reports is a GatewayError with a code from
 * this closed set; `errorSpec` maps each code once to its HTTP status, its OpenAI and
 * Anthropic error types, and whether the message may be shown to the client.
 */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'missing_api_key'
  | 'invalid_api_key'
  | 'insufficient_scope'
  | 'model_not_allowed'
  | 'prompt_not_allowed'
  | 'budget_exceeded'
  | 'model_not_found'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'rate_limited'
  | 'upstream_bad_request'
  | 'upstream_auth_failed'
  | 'upstream_rate_limited'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'upstream_unreachable'
  | 'upstream_bad_response'
  | 'client_aborted'
  | 'shutting_down'
  | 'service_unavailable'
  | 'internal_error';

export interface ErrorSpec {
  status: number;
  /** OpenAI's `error.type`. */
  openaiType: string;
  /** Anthropic's `error.type`. */
  anthropicType: string;
  /** False: the client sees a generic message; the real one is logged only. */
  expose: boolean;
}

const spec = (status: number, openaiType: string, anthropicType: string, expose = true): ErrorSpec => ({
  status,
  openaiType,
  anthropicType,
  expose,
});

export const errorSpec: Readonly<Record<ErrorCode, ErrorSpec>> = Object.freeze({
  invalid_json: spec(400, 'invalid_request_error', 'invalid_request_error'),
  invalid_request: spec(400, 'invalid_request_error', 'invalid_request_error'),
  body_too_large: spec(413, 'invalid_request_error', 'request_too_large'),
  unsupported_media_type: spec(415, 'invalid_request_error', 'invalid_request_error'),
  missing_api_key: spec(401, 'authentication_error', 'authentication_error'),
  invalid_api_key: spec(401, 'authentication_error', 'authentication_error'),
  insufficient_scope: spec(403, 'permission_error', 'permission_error'),
  model_not_allowed: spec(403, 'permission_error', 'permission_error'),
  prompt_not_allowed: spec(403, 'permission_error', 'permission_error'),
  budget_exceeded: spec(429, 'insufficient_quota', 'rate_limit_error'),
  model_not_found: spec(404, 'invalid_request_error', 'not_found_error'),
  not_found: spec(404, 'invalid_request_error', 'not_found_error'),
  method_not_allowed: spec(405, 'invalid_request_error', 'invalid_request_error'),
  conflict: spec(409, 'invalid_request_error', 'invalid_request_error'),
  rate_limited: spec(429, 'rate_limit_error', 'rate_limit_error'),
  upstream_bad_request: spec(400, 'invalid_request_error', 'invalid_request_error'),
  upstream_auth_failed: spec(502, 'api_error', 'api_error'),
  upstream_rate_limited: spec(429, 'rate_limit_error', 'rate_limit_error'),
  upstream_error: spec(502, 'api_error', 'api_error'),
  upstream_timeout: spec(504, 'api_error', 'timeout_error'),
  upstream_unreachable: spec(502, 'api_error', 'api_error'),
  upstream_bad_response: spec(502, 'api_error', 'api_error'),
  client_aborted: spec(499, 'invalid_request_error', 'invalid_request_error'),
  shutting_down: spec(503, 'api_error', 'overloaded_error'),
  service_unavailable: spec(503, 'api_error', 'overloaded_error'),
  internal_error: spec(500, 'api_error', 'api_error', false),
});

export interface GatewayErrorOptions {
  /** The request field the error is about (OpenAI's `error.param`). */
  param?: string | null;
  /** Overrides the code's status (e.g. an upstream 4xx passed through as is). */
  status?: number;
  /** Upstream provider involved, kept for the call record. */
  provider?: string;
  /** HTTP status the upstream answered, when there was one. */
  upstreamStatus?: number;
  /** Seconds the upstream asked us to wait (Retry-After). */
  retryAfter?: number;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly status: number;
  readonly provider: string | undefined;
  readonly upstreamStatus: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.param = options.param ?? null;
    this.status = options.status ?? errorSpec[code].status;
    this.provider = options.provider;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfter = options.retryAfter;
  }

  get spec(): ErrorSpec {
    return errorSpec[this.code];
  }

  /** The message a client may see. */
  get publicMessage(): string {
    return this.spec.expose ? this.message : 'The server had an error while processing your request.';
  }
}

/** Any thrown value as a GatewayError; unknown failures become a hidden internal_error. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  // The registry may not import the gateway (DESIGN §1), so it has its own error with the same codes.
  if (err instanceof PromptError) return new GatewayError(err.code, err.message, { param: err.param, status: err.status });
  return new GatewayError('internal_error', err instanceof Error ? err.message : String(err), { cause: err });
}
