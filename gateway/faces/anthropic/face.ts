import { anthropicErrorBody } from '../../errors/render.ts';
import { chatFace, type Face } from '../face.ts';
import { createAnthropicEventWriter } from './anthropic-event-stream.ts';
import { translateMessagesRequest } from './from-anthropic-request.ts';
import { parseAnthropicRequest } from './messages-schema.ts';
import { anthropicMessageId, toAnthropicMessage } from './to-anthropic-message.ts';

/**
 * POST /v1/messages: the Anthropic face. The request is translated to the canonical chat
 * request and runs through the same pipeline as every face; the answer is translated back.
 * To an Anthropic upstream, unchanged by prompt, retrieval or variant params, the client's
 * body passes through (ProviderRequest.native) and the upstream's answer comes back as sent.
 */
export const anthropicMessagesFace: Face = chatFace<{ model: string }>({
  endpoint: 'messages',
  path: '/v1/messages',
  errorBody: anthropicErrorBody,
  parse(input) {
    const req = parseAnthropicRequest(input.body);
    const { chat: translated, dropped } = translateMessagesRequest(req);
    const chat = translated as unknown as Record<string, unknown>;
    // The registry extension works on this face too: `prompt` in the body or x-sluice-prompt.
    if (input.body.prompt !== undefined) chat.prompt = input.body.prompt;
    // Betas the client opted into (Claude Code: context management, effort, …) go on with its body.
    const beta = input.header('anthropic-beta');
    const native = { format: 'anthropic' as const, body: input.body, headers: beta ? { 'anthropic-beta': beta } : undefined };
    return { chat, native, translated: true, state: { model: req.model }, dropped };
  },
  render: (run, { model }) => run.native ?? JSON.stringify(toAnthropicMessage(run.completion(), { model })),
  frame({ model }, call) {
    let passingThrough = false;
    let writer: ReturnType<typeof createAnthropicEventWriter> | undefined;
    const writerFor = (completionId: string) => (writer ??= createAnthropicEventWriter({ id: anthropicMessageId(completionId), model }));
    return {
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
    };
  },
});
