import type { CallTracker } from '../calls/tracker.ts';
import { createAnthropicEventWriter } from '../faces/anthropic/anthropic-event-stream.ts';
import { countTokens } from '../faces/anthropic/count-tokens.ts';
import { toChatRequest } from '../faces/anthropic/from-anthropic-request.ts';
import { parseAnthropicRequest } from '../faces/anthropic/messages-schema.ts';
import { anthropicMessageId, toAnthropicMessage } from '../faces/anthropic/to-anthropic-message.ts';
import type { CallInput } from './call-input.ts';
import type { PipelineDeps } from './deps.ts';
import { runChat } from './run-chat.ts';
import { streamResponse } from './stream-response.ts';

/**
 * POST /v1/messages: the Anthropic face. The request is translated to the canonical chat
 * request and runs through the same pipeline as every face; the answer is translated back.
 */
export async function messages(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<Response> {
  const req = parseAnthropicRequest(input.body);
  const chat = toChatRequest(req) as unknown as Record<string, unknown>;
  // The registry extension works on this face too: `prompt` in the body or x-sluice-prompt.
  if (input.body.prompt !== undefined) chat.prompt = input.body.prompt;
  // To an Anthropic upstream, unchanged by prompt, retrieval or variant params, the body passes through.
  const run = await runChat({ ...input, body: chat, clientBody: input.body, native: { format: 'anthropic', body: input.body } }, call, deps);
  if (run.kind === 'json') {
    const text = run.native ?? JSON.stringify(toAnthropicMessage(run.completion(), { model: req.model }));
    return new Response(text, { status: 200, headers: { ...run.headers, 'content-type': 'application/json' } });
  }
  let passingThrough = false;
  let writer: ReturnType<typeof createAnthropicEventWriter> | undefined;
  const writerFor = (completionId: string) => (writer ??= createAnthropicEventWriter({ id: anthropicMessageId(completionId), model: req.model }));
  return streamResponse(
    run.stream,
    call,
    deps,
    {
      chunk: (chunk, _data, native) => {
        if (native !== undefined) {
          passingThrough = true;
          return native;
        }
        return writerFor(chunk.id).push(chunk).join('');
      },
      // A pass-through stream already carried the upstream's own message_delta and message_stop.
      end: (usage) => (passingThrough ? '' : (writer ?? writerFor(call.record.id)).end(usage).join('')),
      error: (err) => (writer ?? writerFor(call.record.id)).error(err),
    },
    run.lifecycle,
    run.headers,
  );
}

/** POST /v1/messages/count_tokens: answered locally with a tiktoken estimate. */
export function messagesCountTokens(body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(countTokens(body)), {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-sluice-token-count': 'estimate' },
  });
}
