import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { openaiErrorBody } from '../../errors/render.ts';
import type { StreamFramer } from '../../pipeline/stream-response.ts';
import { openaiUsageFromNormalized } from '../../providers/usage.ts';
import { chatFace, type Face } from '../face.ts';

/** POST /v1/chat/completions: the OpenAI face. The body is the pipeline's own request format. */
export const openaiChatFace: Face = chatFace<null>({
  endpoint: 'chat.completions',
  path: '/v1/chat/completions',
  errorBody: openaiErrorBody,
  parse: (input) => ({ chat: input.body, translated: false, state: null }),
  render: (run) => run.text,
  frame: (_state, _call, { clientWantsUsage }) => openaiFramer(clientWantsUsage),
});

/**
 * OpenAI SSE: chunks pass through as the upstream wrote them. The gateway always asks the
 * upstream for usage; that chunk reaches the client only if the client asked for it too.
 */
export function openaiFramer(clientWantsUsage: boolean): StreamFramer {
  let sawUsageChunk = false;
  let last: ChatCompletionChunk | undefined;
  return {
    chunk(chunk, data) {
      last = chunk;
      if (chunk.choices.length === 0 && chunk.usage != null) {
        if (!clientWantsUsage) return '';
        sawUsageChunk = true;
      }
      return `data: ${data}\n\n`;
    },
    end(usage) {
      let out = '';
      if (clientWantsUsage && !sawUsageChunk && usage && last) {
        const usageChunk: ChatCompletionChunk = {
          id: last.id,
          object: 'chat.completion.chunk',
          created: last.created,
          model: last.model,
          choices: [],
          usage: openaiUsageFromNormalized(usage),
        };
        out += `data: ${JSON.stringify(usageChunk)}\n\n`;
      }
      return `${out}data: [DONE]\n\n`;
    },
    error: (err) => `data: ${JSON.stringify(openaiErrorBody(err))}\n\n`,
  };
}
