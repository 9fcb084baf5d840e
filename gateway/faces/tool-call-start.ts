import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { GatewayError } from '../errors/gateway-error.ts';

/**
 * A face that re-frames a chat stream as its own events (Anthropic content blocks, Responses
 * output items) can open a tool call only once, and only with its id and name: checks both,
 * marks the call as seen and returns its id and name. `format` names the face in the error.
 */
export function startToolCall(call: ChatCompletionChunk.Choice.Delta.ToolCall, seen: Set<number>, format: string): { id: string; name: string } {
  if (seen.has(call.index)) {
    throw new GatewayError('upstream_bad_response', `tool call ${call.index} resumed after another began; cannot be streamed as ${format} events`);
  }
  const name = call.function?.name;
  if (call.id === undefined || name === undefined) {
    throw new GatewayError('upstream_bad_response', `tool call ${call.index} streamed without an id and name in its first chunk`);
  }
  seen.add(call.index);
  return { id: call.id, name };
}
