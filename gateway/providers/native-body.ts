import type { ChatRequest } from './types.ts';

/**
 * A request that arrived in a provider's own format and reaches that provider unchanged (no
 * prompt rendered, no context injected, no variant params) is sent as the client wrote it:
 * `/v1/messages` to an Anthropic upstream passes through. The association lives beside the
 * canonical request, so any copy made by a pipeline step that changes it drops it.
 */
const native = new WeakMap<ChatRequest, { format: 'anthropic'; body: Record<string, unknown> }>();

export function setNativeBody(req: ChatRequest, format: 'anthropic', body: Record<string, unknown>): void {
  native.set(req, { format, body });
}

export function nativeBody(req: ChatRequest, format: 'anthropic'): Record<string, unknown> | undefined {
  const entry = native.get(req);
  return entry?.format === format ? entry.body : undefined;
}
