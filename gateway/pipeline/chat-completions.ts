import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CallTracker } from '../calls/tracker.ts';
import { openaiErrorBody } from '../errors/render.ts';
import { openaiUsageFromNormalized } from '../providers/usage.ts';
import type { CallInput } from './call-input.ts';
import type { PipelineDeps } from './deps.ts';
import { runChat } from './run-chat.ts';
import { streamResponse, type StreamFramer } from './stream-response.ts';

/** POST /v1/chat/completions: the OpenAI face of the chat pipeline. */
export async function chatCompletions(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<Response> {
  const run = await runChat(input, call, deps);
  if (run.kind === 'json') {
    return new Response(run.text, { status: 200, headers: { ...run.headers, 'content-type': 'application/json' } });
  }
  const framer = openaiFramer(run.plan.req.stream_options?.include_usage === true);
  return streamResponse(run.stream, call, deps, framer, run.lifecycle, run.headers);
}

/**
 * OpenAI SSE: chunks pass through as the upstream wrote them. The gateway always asks the
 * upstream for usage; that chunk reaches the client only if the client asked for it too.
 */
function openaiFramer(clientWantsUsage: boolean): StreamFramer {
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
