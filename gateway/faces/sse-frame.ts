/**
 * One server-sent event with a named type, the framing both the Anthropic Messages API and the
 * OpenAI Responses API use (`event:` line, one `data:` line of JSON, blank line). JSON never
 * contains a raw newline, so one data line always suffices.
 */
export function sseFrame(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}
