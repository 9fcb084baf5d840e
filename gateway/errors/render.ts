import type { GatewayError } from './gateway-error.ts';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** DESIGN §4: every non-2xx body on the OpenAI faces has this shape. */
export function openaiErrorBody(err: GatewayError): OpenAIErrorBody {
  return {
    error: { message: err.publicMessage, type: err.spec.openaiType, param: err.param, code: err.code },
  };
}

/** Anthropic's error shape, used on `/v1/messages`. */
export function anthropicErrorBody(err: GatewayError): AnthropicErrorBody {
  return { type: 'error', error: { type: err.spec.anthropicType, message: err.publicMessage } };
}
