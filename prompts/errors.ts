/**
 * The registry's one error type. Routes and the store throw it; the gateway's error handler
 * renders it OpenAI-shaped (`{"error":{"message","type","param","code"}}`). Every code is a
 * client error, so every message may be shown.
 */
export type PromptErrorCode = 'invalid_request' | 'not_found' | 'method_not_allowed' | 'conflict';

const STATUS = {
  invalid_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
} as const satisfies Record<PromptErrorCode, number>;

export type PromptErrorStatus = (typeof STATUS)[PromptErrorCode];

export class PromptError extends Error {
  readonly code: PromptErrorCode;
  readonly status: PromptErrorStatus;
  /** The request field the error is about (OpenAI's `error.param`), e.g. `variables.city`. */
  readonly param: string | null;

  constructor(code: PromptErrorCode, message: string, param: string | null = null) {
    super(message);
    this.name = 'PromptError';
    this.code = code;
    this.status = STATUS[code];
    this.param = param;
  }
}

/** The OpenAI-shaped body for a PromptError (what the gateway's handler renders too). */
export function promptErrorBody(err: PromptError): {
  error: { message: string; type: 'invalid_request_error'; param: string | null; code: PromptErrorCode };
} {
  return { error: { message: err.message, type: 'invalid_request_error', param: err.param, code: err.code } };
}
