/** Text utilities shared by the OpenAI and Anthropic emulations. */
import { randomBytes } from 'node:crypto';

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Number of whitespace-separated words. */
export function countWords(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

/**
 * Split into streaming pieces, one per word, the whitespace before a word attached to it
 * ("Echo: hi there" -> ["Echo:", " hi", " there"]); concatenation gives back `s` exactly.
 */
export function wordPieces(s: string): string[] {
  return s.split(/(?<=\S)(?=\s)/).filter((p) => p.length > 0);
}

/** Text of a message `content`: a string, or the text parts of an array joined with a space. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (isRecord(part) && part['type'] === 'text' && typeof part['text'] === 'string') parts.push(part['text']);
  }
  return parts.join(' ');
}

export interface Finished {
  text: string;
  /** 'stop' = a stop string cut the text; 'length' = the word limit did; 'natural' = neither. */
  reason: 'stop' | 'length' | 'natural';
  stopSequence: string | null;
}

/**
 * Apply stop strings (cut before the earliest occurrence) and then a word limit
 * (keep at most `maxWords` words when the text has more).
 */
export function finishText(text: string, stops: readonly string[], maxWords: number | undefined): Finished {
  let out = text;
  let reason: Finished['reason'] = 'natural';
  let stopSequence: string | null = null;
  let cut = -1;
  for (const s of stops) {
    if (s.length === 0) continue;
    const at = out.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) {
      cut = at;
      stopSequence = s;
    }
  }
  if (cut >= 0) {
    out = out.slice(0, cut);
    reason = 'stop';
  }
  if (maxWords !== undefined && maxWords >= 0 && countWords(out) > maxWords) {
    const kept: string[] = [];
    let n = 0;
    for (const p of wordPieces(out)) {
      if (n >= maxWords) break;
      kept.push(p);
      if (/\S/.test(p)) n++;
    }
    out = kept.join('').replace(/\s+$/, '');
    reason = 'length';
    stopSequence = null;
  }
  return { text: out, reason, stopSequence };
}

/** Split `s` into at least two fragments (for streamed tool arguments). */
export function fragments(s: string, size = 8): string[] {
  if (s.length < 2) return [s, ''];
  const step = Math.min(size, Math.ceil(s.length / 2));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += step) out.push(s.slice(i, i + step));
  return out;
}

export const randomId = (prefix: string): string => prefix + randomBytes(12).toString('hex');

/** One SSE event: `event: <name>\n` (if given) then `data: <data>\n\n`. */
export function sse(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return (event ? `event: ${event}\n` : '') + `data: ${payload}\n\n`;
}

/** Normalise `stop` / `stop_sequences` (string | string[] | null | undefined) to a list. */
export function stopList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

export const optNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
