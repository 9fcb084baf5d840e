/**
 * Test support: `fetch` stand-ins for the official SDKs, so their own parsers and
 * accumulators (Anthropic's MessageStream, OpenAI's ResponseStream) read what a face writes,
 * with no HTTP server. Not used by the gateway itself.
 */

/** Answers every request with these SSE frames, re-cut into `pieceSize`-byte pieces so the SDK's parser sees lines and UTF-8 characters split across reads. */
export function sseFetch(frames: readonly string[], pieceSize = 7): typeof fetch {
  return async () => {
    const bytes = new TextEncoder().encode(frames.join(''));
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + pieceSize));
        offset += pieceSize;
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}

/** Answers every request with this JSON body (status 200). */
export function jsonFetch(body: unknown): typeof fetch {
  return async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
}
