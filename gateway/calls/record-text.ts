import { isRedactedField, REDACTED, redactString, storableText, type PayloadPolicy } from './payloads.ts';

/**
 * Client text on the `calls` row (user, metadata, error messages, model names, request ids)
 * goes through the same redaction as the payloads and is capped, whether payloads are kept or
 * not: that row is what every list, filter and export reads (issue 14 item 7).
 */
export const TEXT_LIMITS = Object.freeze({
  /** btree entries over ~2.7 kB fail the insert, so indexed columns stay well under it. */
  indexed: 512,
  message: 2000,
  metadataKey: 128,
  metadataValue: 1024,
  metadataEntries: 64,
  /** All keys and values of one record's metadata together, in characters. */
  metadataTotal: 8192,
});

/**
 * Redaction is linear, but a field is only ever stored short: text past this is cut before it
 * is scanned. A pattern match cut in two there is never stored, since the result is cut again
 * far below this (redaction replacements are short, so nothing past here moves into view).
 */
const SCAN_MAX = 64 * 1024;

/** At most `max` characters; a cut one ends with a marker saying how much went. */
export function capText(s: string, max: number): string {
  if (s.length <= max) return s;
  // Room for the marker with as many digits as the whole length has (the count is never more).
  const reserve = '…[truncated  chars]'.length + String(s.length).length;
  let keep = Math.max(0, max - reserve);
  // Never split a surrogate pair (jsonb refuses a lone half).
  const last = s.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  return `${s.slice(0, keep)}…[truncated ${s.length - keep} chars]`.slice(0, max);
}

/** One client string as stored: redacted (credentials, configured patterns), storable, capped. */
export function cleanText(s: string | null | undefined, policy: PayloadPolicy, max: number): string | null {
  if (s === null || s === undefined) return null;
  const text = typeof s === 'string' ? s : String(s);
  return capText(redactString(text.length > SCAN_MAX ? text.slice(0, SCAN_MAX) : text, policy), max);
}

/** Below this much room, a value would be little more than its truncation marker. */
const MIN_VALUE_ROOM = 48;

/**
 * Metadata as stored: a string map whose credential-named keys (api_key, password, configured
 * redact_fields) have their value replaced, every key and value redacted and cut (marked), at
 * most `metadataEntries` entries and `metadataTotal` characters; what is left out is counted
 * under the key `[truncated]`.
 */
export function cleanMetadata(m: unknown, policy: PayloadPolicy): Record<string, string> | null {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
  const src = m as Record<string, unknown>;
  const keys = Object.keys(src);
  // No prototype: a client's `__proto__` key is then an ordinary entry, not a prototype change.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let budget = TEXT_LIMITS.metadataTotal;
  let kept = 0;
  for (const k of keys) {
    if (kept >= TEXT_LIMITS.metadataEntries) break;
    let key = cleanText(k, policy, TEXT_LIMITS.metadataKey)!;
    // Too little room left for a value and its marker: the rest is only counted.
    if (budget - key.length < MIN_VALUE_ROOM) break;
    // Two keys cut to the same prefix must not overwrite each other.
    if (Object.hasOwn(out, key)) key = `${key}#${kept}`;
    const raw = src[k];
    const room = Math.min(TEXT_LIMITS.metadataValue, budget - key.length);
    const value = isRedactedField(k, policy) && raw !== null && raw !== undefined ? REDACTED : cleanText(valueText(raw), policy, room)!;
    out[key] = value;
    budget -= key.length + value.length;
    kept++;
  }
  if (kept < keys.length) out['[truncated]'] = `${keys.length - kept} more entries`;
  return out;
}

/** Metadata is a string map by contract; anything else is kept as short text, never as a structure. */
function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return Array.isArray(v) ? '[array]' : '[object]';
  return String(v);
}

/** Attempt and doc-id strings are short names; keep them so (storable and capped). */
export function cleanName(s: string | null | undefined, max: number = TEXT_LIMITS.indexed): string | null {
  if (s === null || s === undefined) return null;
  return capText(storableText(typeof s === 'string' ? s : String(s)), max);
}
