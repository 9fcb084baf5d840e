/** What a face hands the pipeline: the parsed body, request headers and the client's signal. */
export interface CallInput {
  body: Record<string, unknown>;
  header(name: string): string | undefined;
  signal: AbortSignal;
}
