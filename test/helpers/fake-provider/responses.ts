/**
 * POST /v1/responses: the fake as an OpenAI Responses upstream. The request is read with the
 * gateway's own Responses → chat translation, answered by the fake chat model (openai.ts, so
 * the same replies, tool-call choice and usage rules), and the answer written back as a
 * Response or Responses stream events. Documented in `../fake-provider.ts`.
 */
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { GatewayError } from '../../../gateway/errors/gateway-error.ts';
import { translateResponsesRequest } from '../../../gateway/faces/responses/from-responses-request.ts';
import { createResponseEventWriter } from '../../../gateway/faces/responses/response-event-stream.ts';
import { parseResponsesRequest } from '../../../gateway/faces/responses/responses-schema.ts';
import { newResponseId, toResponse, type ResponseContext } from '../../../gateway/faces/responses/to-response.ts';
import { sseFrame } from '../../../gateway/faces/sse-frame.ts';
import { chatCompletions, openaiError } from './openai.ts';
import type { HandlerContext, Plan } from './types.ts';

export function responses(body: unknown, ctx: HandlerContext): Plan {
  let context: ResponseContext;
  let chat: Record<string, unknown>;
  try {
    const req = parseResponsesRequest(body);
    if (req.model === undefined) return openaiError(400, 'Missing required parameter: model', undefined, null, 'model');
    const translated = translateResponsesRequest(req, []);
    chat = translated.chat as unknown as Record<string, unknown>;
    context = { id: newResponseId(), createdAt: 1_700_000_000, request: req, previousResponseId: req.previous_response_id ?? null, tools: translated.names };
  } catch (err) {
    if (err instanceof GatewayError) return openaiError(400, err.message, undefined, null, err.param ?? null);
    throw err;
  }
  const plan = chatCompletions(chat, ctx);
  if (plan.kind === 'json') {
    if (plan.status !== 200) return plan;
    return { kind: 'json', status: 200, body: toResponse(plan.body as ChatCompletion, context) };
  }
  const writer = createResponseEventWriter(context);
  const events: string[] = [];
  let firstContentIndex = -1;
  for (const event of plan.events) {
    const data = /^data: (.*)\n\n$/s.exec(event)?.[1];
    if (data === undefined || data === '[DONE]') continue;
    const frames = writer.push(JSON.parse(data) as ChatCompletionChunk);
    if (firstContentIndex < 0 && frames.some((f) => f.includes('.delta"'))) firstContentIndex = events.length + frames.length - 1;
    events.push(...frames);
  }
  events.push(...writer.end(undefined, 1_700_000_001));
  return {
    kind: 'sse',
    events,
    firstContentIndex: firstContentIndex < 0 ? 0 : firstContentIndex,
    malformedEvent: 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"oops\n\n',
    errorEvent: (message, type) => sseFrame('error', { type: 'error', code: type ?? 'server_error', message, param: null, sequence_number: 0 }),
  };
}
