import type { AuthenticatedKey } from '../../auth/key-store.ts';
import type { CallTracker } from '../../calls/tracker.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { openaiErrorBody } from '../../errors/render.ts';
import type { Logger } from '../../logger.ts';
import { chatFace, type Face } from '../face.ts';
import { normalizeInput, translateResponsesRequest } from './from-responses-request.ts';
import { sseFrame } from '../sse-frame.ts';
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
 * To an `openai` provider, a body nothing changed (no registry prompt, retrieval or variant
 * params) and that does not continue a gateway-stored turn passes through as written, and the
 * upstream's answer and events come back as sent (ProviderRequest.native). Such a response
 * carries the upstream's id; the gateway keeps a copy under it (unless `store: false`), so
 * GET and `previous_response_id` work through the gateway as for translated turns (a
 * continuation is then translated, with the stored history).
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

  /** An upstream's own Response (pass-through), stored under its id. */
  const saveUpstream = (state: ResponsesState, text: string | undefined, call: CallTracker): void => {
    if (text === undefined) return;
    let response: ResponseObject;
    try {
      response = JSON.parse(text) as ResponseObject;
    } catch {
      return;
    }
    if (typeof response.id !== 'string' || !Array.isArray(response.output)) return;
    // Kept from when the gateway saw it (retention counts from then), under the upstream's id.
    save({ ...state, ctx: { ...state.ctx, id: response.id } }, response, call);
  };

  return chatFace<ResponsesState>({
    endpoint: 'responses',
    path: '/v1/responses',
    errorBody: openaiErrorBody,
    async parse(input, { key }) {
      const req = parseResponsesRequest(input.body);
      const previous = req.previous_response_id ? await deps.store.chain(req.previous_response_id, key) : [];
      const translated = translateResponsesRequest(req, previous);
      const chat = translated.chat as unknown as Record<string, unknown>;
      const ctx: ResponseContext = {
        id: newResponseId(),
        createdAt: seconds(),
        request: req,
        previousResponseId: req.previous_response_id ?? null,
        tools: translated.names,
      };
      // A continuation of a gateway-stored turn needs that history, which only the translation carries.
      const native = req.previous_response_id ? undefined : { format: 'openai-responses' as const, body: input.body };
      return { chat, native, translated: true, state: { req, ctx, key, body: input.body }, dropped: translated.dropped };
    },
    render(run, state, call) {
      if (run.native !== undefined) {
        saveUpstream(state, run.native, call);
        return run.native;
      }
      const response = toResponse(run.completion(), { ...state.ctx, completedAt: seconds() });
      save(state, response, call);
      return JSON.stringify(response);
    },
    frame(state, call) {
      const writer = createResponseEventWriter(state.ctx);
      let passingThrough = false;
      let final: string | undefined;
      let seq = 0;
      return {
        chunk: (chunk, _data, native) => {
          if (native === undefined) return writer.push(chunk).join('');
          passingThrough = true;
          if (native !== '') seq++;
          // The upstream's own final Response, kept like a translated one.
          if (native.includes('"response.completed"') || native.includes('"response.incomplete"')) final = native;
          return native;
        },
        end: (usage) => {
          if (passingThrough) {
            if (final !== undefined) saveUpstream(state, finalResponseOf(final), call);
            return '';
          }
          const frames = writer.end(usage, seconds()).join('');
          save(state, writer.response(), call);
          return frames;
        },
        // Mid pass-through, the client has the upstream's events so far: an error event ends them.
        error: (err) =>
          passingThrough
            ? sseFrame('error', { type: 'error', code: err.code, message: err.publicMessage, param: err.param, sequence_number: seq })
            : writer.error(err).join(''),
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

/** The `response` of a response.completed / response.incomplete SSE frame, as JSON text. */
function finalResponseOf(frame: string): string | undefined {
  const data = frame.split('\n').find((line) => line.startsWith('data: '));
  if (!data) return undefined;
  try {
    const event = JSON.parse(data.slice('data: '.length)) as { response?: unknown };
    return event.response === undefined ? undefined : JSON.stringify(event.response);
  } catch {
    return undefined;
  }
}
