/**
 * Incremental server-sent-events parser (WHATWG HTML §9.2.6, "event stream interpretation").
 * Bytes arrive in arbitrary pieces: a piece may end mid-line or inside a multi-byte UTF-8
 * character, so decoding is streaming and lines are only interpreted once complete.
 */
export interface SseEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private data: string[] = [];
  private eventName: string | undefined;
  private lastId: string | undefined;
  private sawCr = false;

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    // A CRLF split across two pieces: the LF was already accounted for by the CR.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', start);
      const cr = this.buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 === this.buffer.length) {
          // Cannot tell yet whether an LF follows; treat CR as the terminator and skip a leading LF next time.
          next = cr + 1;
          this.sawCr = true;
        } else {
          next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.line(this.buffer.slice(start, end), events);
      start = next;
    }
    this.buffer = start === 0 ? this.buffer : this.buffer.slice(start);
    return events;
  }

  /** End of input: a trailing event without its blank line is dropped, per the spec. */
  end(): SseEvent[] {
    const rest = this.decoder.decode();
    const events = rest ? this.push(rest) : [];
    this.buffer = '';
    this.data = [];
    this.eventName = undefined;
    return events;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.eventName, data: this.data.join('\n'), id: this.lastId });
      this.data = [];
      this.eventName = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.eventName = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break; // `retry` and unknown fields do not matter to a proxy
    }
  }
}
