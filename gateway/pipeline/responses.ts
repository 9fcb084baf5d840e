import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { CallTracker } from '../calls/tracker.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { fromResponsesRequest, normalizeInput } from '../faces/responses/from-responses-request.ts';
import { createResponseEventWriter } from '../faces/responses/response-event-stream.ts';
import { parseResponsesRequest, type ResponsesRequest } from '../faces/responses/responses-schema.ts';
import type { ResponsesStore } from '../faces/responses/store.ts';
import { newResponseId, toResponse, type ResponseContext, type ResponseObject } from '../faces/responses/to-response.ts';
import type { CallInput } from './call-input.ts';
import type { PipelineDeps } from './deps.ts';
import { runChat } from './run-chat.ts';
import { streamResponse } from './stream-response.ts';

export interface ResponsesDeps extends PipelineDeps {
  responses: ResponsesStore;
}

/**
 * POST /v1/responses: the OpenAI Responses face. `previous_response_id` chains are kept in
 * Postgres; the request becomes a canonical chat request and runs through the shared pipeline.
 *
 * A stored turn belongs to `key`: only it (or an admin-scope key) may continue or read it.
 * What is stored is redacted like the call log, and earlier turns are replayed to the model
 * as stored, so a secret the redaction policy removes is `[redacted]` in later turns on every
 * instance alike (the turn that carries it reaches the model as sent).
 */
export async function createResponse(input: CallInput, call: CallTracker, deps: ResponsesDeps, key: AuthenticatedKey): Promise<Response> {
  const req = parseResponsesRequest(input.body);
  const previous = req.previous_response_id ? await deps.responses.chain(req.previous_response_id, key) : [];
  const chat = fromResponsesRequest(req, previous) as unknown as Record<string, unknown>;
  const ctx: ResponseContext = {
    id: newResponseId(),
    createdAt: Math.floor(Date.now() / 1000),
    request: req,
    previousResponseId: req.previous_response_id ?? null,
  };
  const run = await runChat({ ...input, body: chat, clientBody: input.body }, call, deps);
  const save = (response: ResponseObject): void => {
    if (req.store === false) return;
    // Stored off the response path; a failed save is logged, the answer already went out.
    deps.responses
      .save({
        id: ctx.id,
        createdAt: new Date(ctx.createdAt * 1000),
        previousResponseId: ctx.previousResponseId,
        model: response.model,
        request: input.body,
        inputItems: normalizeInput(req.input),
        outputItems: response.output,
        response,
        callId: call.record.id,
        apiKeyId: key.id,
      })
      .then((stored) => {
        if (stored.truncated) deps.logger.warn('response stored cut to the payload cap; it cannot be continued', { id: ctx.id, bytes: stored.storedBytes });
      })
      .catch((err: unknown) => deps.logger.error('could not store response', { id: ctx.id, err: String(err) }));
  };
  if (run.kind === 'json') {
    const response = toResponse(run.completion(), { ...ctx, completedAt: Math.floor(Date.now() / 1000) });
    save(response);
    return new Response(JSON.stringify(response), { status: 200, headers: { ...run.headers, 'content-type': 'application/json' } });
  }
  const writer = createResponseEventWriter(ctx);
  return streamResponse(
    run.stream,
    call,
    deps,
    {
      chunk: (chunk) => writer.push(chunk).join(''),
      end: (usage) => {
        const frames = writer.end(usage, Math.floor(Date.now() / 1000)).join('');
        save(writer.response());
        return frames;
      },
      error: (err) => writer.error(err).join(''),
    },
    run.lifecycle,
    run.headers,
  );
}

/** GET /v1/responses/{id}: 404 alike for an unknown id and for another key's response. */
export async function getResponse(id: string, store: ResponsesStore, key: AuthenticatedKey): Promise<ResponseObject> {
  const stored = await store.get(id, key);
  if (!stored) throw new GatewayError('not_found', `No response with id '${id.slice(0, 100)}'`, { param: 'response_id' });
  return stored.response;
}

export type { ResponsesRequest };
