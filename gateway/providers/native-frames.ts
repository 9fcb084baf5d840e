import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { StreamChunk } from './types.ts';

/**
 * What a pass-through stream yields for one upstream event: the client gets the upstream's own
 * SSE frame (with the event's first chunk, or with an empty chunk when the event translates to
 * none), while the translated chunks still feed the call's record.
 */
export function* nativeFrameChunks(frame: string, translated: readonly ChatCompletionChunk[], empty: () => ChatCompletionChunk): Generator<StreamChunk> {
  if (translated.length === 0) yield { data: '', chunk: empty(), native: frame };
  for (const [i, chunk] of translated.entries()) yield { data: JSON.stringify(chunk), chunk, native: i === 0 ? frame : '' };
}
