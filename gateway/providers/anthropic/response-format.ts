import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';

/**
 * OpenAI `response_format` → an instruction appended to Anthropic's system prompt.
 *
 * Why an instruction and not a native feature: Anthropic's structured outputs
 * (`output_config.format`) exist only on some models and reject parts of JSON Schema that
 * OpenAI accepts, so a request that works on OpenAI could 400 on Anthropic. An instruction
 * works on every model; the trade-off is that the JSON is requested, not guaranteed
 * (json_object on OpenAI has the same contract: "valid JSON", no schema guarantee). Assistant
 * prefill ("{") is not used because newer models reject prefill.
 */

type ResponseFormat = ChatCompletionCreateParams['response_format'];

const ONLY_JSON = 'and nothing else: no text before or after it and no Markdown code fences.';

export function responseFormatInstruction(format: ResponseFormat): string | null {
  if (format === undefined || format === null) return null;
  switch (format.type) {
    case 'text':
      return null;
    case 'json_object':
      return `Respond with a single valid JSON object ${ONLY_JSON}`;
    case 'json_schema': {
      const { name, description, schema } = format.json_schema;
      const about = description === undefined ? name : `${name}: ${description}`;
      if (schema === undefined) return `Respond with a single valid JSON object (${about}) ${ONLY_JSON}`;
      return (
        `Respond with a single valid JSON object (${about}) that conforms to this JSON Schema, ${ONLY_JSON}\n\n` +
        JSON.stringify(schema)
      );
    }
    default: {
      const type: unknown = (format as { type?: unknown }).type;
      throw new GatewayError('invalid_request', `response_format.type: '${String(type)}' is not supported for Anthropic models`, {
        param: 'response_format.type',
      });
    }
  }
}
