import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from './sse-parser.ts';

const encoder = new TextEncoder();

function feedInPieces(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.push(bytes.subarray(prev, cut)));
    prev = cut;
  }
  events.push(...parser.end());
  return events;
}

describe('SseParser', () => {
  const stream =
    'event: message_start\ndata: {"a":1}\n\n' +
    ': keep-alive comment\n\n' +
    'data: {"text":"héllo 🌍 wörld"}\n\n' +
    'data: line one\ndata: line two\n\n' +
    'id: 7\nevent: ping\ndata:no-space\n\n' +
    'data: [DONE]\n\n';
  const expected: SseEvent[] = [
    { event: 'message_start', data: '{"a":1}', id: undefined },
    { event: undefined, data: '{"text":"héllo 🌍 wörld"}', id: undefined },
    { event: undefined, data: 'line one\nline two', id: undefined },
    { event: 'ping', data: 'no-space', id: '7' },
    { event: undefined, data: '[DONE]', id: '7' },
  ];

  it('parses a whole stream at once', () => {
    expect(feedInPieces(encoder.encode(stream), [])).toEqual(expected);
  });

  it('gives the same events for every single split point, including mid-line and mid-UTF-8', () => {
    const bytes = encoder.encode(stream);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feedInPieces(bytes, [cut]), `split at byte ${cut}`).toEqual(expected);
    }
  });

  it('survives byte-at-a-time delivery', () => {
    const bytes = encoder.encode(stream);
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(feedInPieces(bytes, cuts)).toEqual(expected);
  });

  it('splits inside a 4-byte emoji decode to the same text', () => {
    const bytes = encoder.encode('data: 🌍🌍\n\n');
    const emojiStart = 'data: '.length;
    for (const cut of [emojiStart + 1, emojiStart + 2, emojiStart + 3, emojiStart + 5]) {
      expect(feedInPieces(bytes, [cut])).toEqual([{ event: undefined, data: '🌍🌍', id: undefined }]);
    }
  });

  it('accepts CRLF and lone CR line endings, also when CRLF is split', () => {
    const crlf = encoder.encode('data: a\r\n\r\ndata: b\r\r');
    const want = [
      { event: undefined, data: 'a', id: undefined },
      { event: undefined, data: 'b', id: undefined },
    ];
    for (let cut = 1; cut < crlf.length; cut++) expect(feedInPieces(crlf, [cut])).toEqual(want);
  });

  it('drops an unterminated trailing event (a cut stream is not a complete event)', () => {
    expect(feedInPieces(encoder.encode('data: complete\n\ndata: cut-of'), [])).toEqual([
      { event: undefined, data: 'complete', id: undefined },
    ]);
  });
});
