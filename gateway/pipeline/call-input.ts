import type { NativeBody } from '../providers/types.ts';

/** What a face hands the pipeline: the parsed body, request headers and the client's signal. */
export interface CallInput {
  body: Record<string, unknown>;
  header(name: string): string | undefined;
  signal: AbortSignal;
  /** The body in the client's own format (`/v1/messages`), sent as is to a provider of that format when nothing changed it. */
  native?: NativeBody | undefined;
  /** The body as the client sent it, when `body` is its translation (another face's format): logged for replay. */
  clientBody?: Record<string, unknown> | undefined;
}
