import type { AuthenticatedKey } from '../../auth/key-store.ts';
import type { CallTracker } from '../../calls/tracker.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { openaiErrorBody } from '../../errors/render.ts';
import type { Logger } from '../../logger.ts';
import { chatFace, type Face } from '../face.ts';
import { fromResponsesRequest, normalizeInput } from './from-responses-request.ts';
import { createResponseEventWriter } from './response-event-stream.ts';
import { parseResponsesRequest, type ResponsesRequest } from './responses-schema.ts';
import type { ResponsesStore } from './store.ts';
import { newResponseId, toResponse, type ResponseContext, type ResponseObject } from './to-response.ts';

interface ResponsesState {
  req: ResponsesRequest;
  ctx: ResponseContext;
  key: AuthenticatedKey;
  body: Record<string, unknown>;
}

export interface ResponsesFaceDeps {
  store: ResponsesStore;
  logger: Logger;
  /** Wall clock, epoch milliseconds. */
  clock(): number;
}

/**
 * POST /v1/responses: the OpenAI Responses face. `previous_response_id` chains are kept in
 * Postgres; the request becomes a canonical chat request and runs through the shared pipeline.
 *
 * A stored turn belongs to the key that made it: only it (or an admin-scope key) may continue
 * or read it. What is stored is redacted like the call log, and earlier turns are replayed to
 * the model as stored, so a secret the redaction policy removes is `[redacted]` in later turns
 * on every instance alike (the turn that carries it reaches the model as sent).
 */
export function responsesFace(deps: ResponsesFaceDeps): Face {
  const seconds = () => Math.floor(deps.clock() / 1000);
  const save = (state: ResponsesState, response: ResponseObject, call: CallTracker): void => {
    if (state.req.store === false) return;
    // Stored off the response path; a failed save is logged, the answer already went out.
    deps.store
      .save({
        id: state.ctx.id,
        createdAt: new Date(state.ctx.createdAt * 1000),
        previousResponseId: state.ctx.previousResponseId,
        model: response.model,
        request: state.body,
        inputItems: normalizeInput(state.req.input),
        outputItems: response.output,
        response,
        callId: call.record.id,
        apiKeyId: state.key.id,
      })
      .then((stored) => {
        if (stored.truncated) deps.logger.warn('response stored cut to the payload cap; it cannot be continued', { id: state.ctx.id, bytes: stored.storedBytes });
      })
      .catch((err: unknown) => deps.logger.error('could not store response', { id: state.ctx.id, err: String(err) }));
  };

  return chatFace<ResponsesState>({
    endpoint: 'responses',
    path: '/v1/responses',
    errorBody: openaiErrorBody,
    async parse(input, { key }) {
      const req = parseResponsesRequest(input.body);
      const previous = req.previous_response_id ? await deps.store.chain(req.previous_response_id, key) : [];
      const chat = fromResponsesRequest(req, previous) as unknown as Record<string, unknown>;
      const ctx: ResponseContext = { id: newResponseId(), createdAt: seconds(), request: req, previousResponseId: req.previous_response_id ?? null };
      return { chat, translated: true, state: { req, ctx, key, body: input.body } };
    },
    render(run, state, call) {
      const response = toResponse(run.completion(), { ...state.ctx, completedAt: seconds() });
      save(state, response, call);
      return JSON.stringify(response);
    },
    frame(state, call) {
      const writer = createResponseEventWriter(state.ctx);
      return {
        chunk: (chunk) => writer.push(chunk).join(''),
        end: (usage) => {
          const frames = writer.end(usage, seconds()).join('');
          save(state, writer.response(), call);
          return frames;
        },
        error: (err) => writer.error(err).join(''),
      };
    },
  });
}

/** GET /v1/responses/{id}: 404 alike for an unknown id and for another key's response. */
export async function getResponse(id: string, store: ResponsesStore, key: AuthenticatedKey): Promise<ResponseObject> {
  const stored = await store.get(id, key);
  if (!stored) throw new GatewayError('not_found', `No response with id '${id.slice(0, 100)}'`, { param: 'response_id' });
  return stored.response;
}
