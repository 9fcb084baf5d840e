import { expect } from 'vitest';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { ChatStream, StreamChunk } from '../../gateway/providers/types.ts';

/** The GatewayError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError, the call succeeded');
}

/** Reads a provider stream to its end: the chunks it yielded and the GatewayError it ended with, if any. */
export async function drain(stream: ChatStream): Promise<{ chunks: StreamChunk[]; error: GatewayError | undefined }> {
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return { chunks, error: err as GatewayError };
  }
  return { chunks, error: undefined };
}

/** Waits until `cond` holds (polling every 5 ms), failing after `ms`. */
export async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
