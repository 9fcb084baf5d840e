import { scrubSecrets } from '../providers/scrub-secrets.ts';
import { compileQuickScan, nothingToRedact, type QuickScan } from './payload-scan.ts';

/** How request/response bodies are kept in `call_payloads` (from config; applied off the request path). */
export interface PayloadOptions {
  enabled: boolean;
  /** Cap on each body's stored JSON text, in UTF-8 bytes. */
  maxBytes: number;
  /** Field names whose values are replaced at any depth, compared case-insensitively. */
  redactFields: readonly string[];
  /** Regular expressions (source text) whose matches inside any string are replaced. */
  redactPatterns: readonly string[];
  /** Credentials from the config (provider keys, credential header values), removed from every string. */
  secrets?: readonly string[];
  /** Per route (`routes.<name>.payloads`): which calls keep their bodies; a route not listed keeps all. */
  routes?: Readonly<Record<string, PayloadCapture>>;
}

/**
 * A route's payload capture: every call's bodies (`full`), a share of calls' (`{ sample }`,
 * in (0, 1]), or none (`metadata`: the `calls` row only).
 */
export type PayloadCapture = 'full' | 'metadata' | { sample: number };

export interface PayloadPolicy {
  readonly enabled: boolean;
  readonly maxBytes: number;
  readonly fields: ReadonlySet<string>;
  readonly patterns: readonly RegExp[];
  readonly secrets: readonly string[];
  /** Per route, the share of calls whose bodies are kept (1 = all; routes not listed keep all). */
  readonly capture: ReadonlyMap<string, number>;
  /** The fast path's scan (payload-scan.ts); null when the policy rules it out. */
  readonly quick: QuickScan | null;
}

/** One body, ready to store: valid JSON text (null when there is no body). */
export interface PreparedBody {
  json: string | null;
  truncated: boolean;
}

export const REDACTED = '[redacted]';
const MAX_DEPTH = 64;
/** Never kept, whatever the config says: these carry credentials. */
const ALWAYS_REDACTED = ['authorization', 'api_key', 'api-key', 'x-api-key', 'apikey', 'proxy-authorization', 'password', 'cookie', 'set-cookie'];
/**
 * Credential-shaped names beyond the exact list (`openai_api_key`, `db-password`,
 * `client_secret`, `refresh_token`). Whole words at the end only: a bare `token` is a logprobs
 * field and `max_tokens` a parameter, neither a secret.
 */
const CREDENTIAL_NAME = /(?:^|[-_])(?:api[-_]?key|password|passwd|secret|(?:access|refresh|auth|session|bearer)[-_]?token|authorization)$/i;

/** True when a field of this name is replaced whole, at any depth (configured or credential-shaped). */
export function isRedactedField(key: string, policy: PayloadPolicy): boolean {
  return policy.fields.has(key.toLowerCase()) || CREDENTIAL_NAME.test(key);
}

/** Compiles the options once; an invalid pattern fails here, at boot, naming the pattern. */
export function compilePayloadPolicy(opts: PayloadOptions): PayloadPolicy {
  const patterns = opts.redactPatterns.map((source) => {
    try {
      return new RegExp(source, 'g');
    } catch (err) {
      throw new Error(`Invalid payload redaction pattern ${JSON.stringify(source)}: ${(err as Error).message}`);
    }
  });
  const fields = new Set([...ALWAYS_REDACTED, ...opts.redactFields.map((f) => f.toLowerCase())]);
  // Longest first, so a secret is removed before a shorter one that is part of it.
  const secrets = [...new Set(opts.secrets ?? [])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  const quick = compileQuickScan(fields, patterns, secrets);
  const capture = new Map<string, number>();
  for (const [route, c] of Object.entries(opts.routes ?? {})) capture.set(route, c === 'full' ? 1 : c === 'metadata' ? 0 : c.sample);
  return { enabled: opts.enabled, maxBytes: Math.max(64, Math.floor(opts.maxBytes)), fields, patterns, secrets, capture, quick };
}

/**
 * Whether this call keeps its bodies under its route's capture. A sampled route draws from the
 * call id's last 32 bits (random in a UUIDv7), so the choice is the same wherever the row is
 * built (write-ahead log, batch, spool) and reproducible.
 */
export function capturesPayload(policy: PayloadPolicy, route: string | null, callId: string): boolean {
  const share = route === null ? undefined : policy.capture.get(route);
  if (share === undefined || share >= 1) return true;
  if (share <= 0) return false;
  return Number.parseInt(callId.slice(-8), 16) / 2 ** 32 < share;
}

// Postgres text and jsonb cannot hold NUL, and jsonb rejects unpaired surrogates; one such
// string would otherwise fail a whole batch.
const UNSTORABLE = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The string with what Postgres cannot store removed or replaced (U+FFFD). */
export function storableText(s: string): string {
  if (!UNSTORABLE.test(s)) return s;
  return s.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\ufffd');
}

/** Credentials and configured patterns out of one string. */
export function redactString(s: string, policy: PayloadPolicy): string {
  let out = scrubSecrets(s, policy.secrets);
  for (const re of policy.patterns) {
    re.lastIndex = 0;
    if (re.test(out)) {
      re.lastIndex = 0;
      out = out.replace(re, REDACTED);
    }
  }
  return storableText(out);
}

/**
 * A redacted copy of a JSON-like value: configured field names (any depth) replaced, every
 * string scrubbed. Copy-on-write, so an untouched subtree is shared rather than rebuilt.
 */
export function redactValue(value: unknown, policy: PayloadPolicy, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value, policy);
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    return value;
  }
  if (depth >= MAX_DEPTH) return '[depth limit]';
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      const r = redactValue(v, policy, depth + 1);
      if (r !== v && !out) out = value.slice(0, i);
      out?.push(r);
    }
    return out ?? value;
  }
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : null;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  let out: Record<string, unknown> | undefined;
  const src = value as Record<string, unknown>;
  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = src[k];
    const r = v !== null && v !== undefined && isRedactedField(k, policy) ? REDACTED : redactValue(v, policy, depth + 1);
    const key = storableText(k);
    if ((r !== v || key !== k) && !out) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]!] = src[keys[j]!];
    }
    if (out) out[key] = r;
  }
  return out ?? value;
}

const byteLength = (json: string, cap: number): number =>
  json.length * 3 <= cap ? json.length : Buffer.byteLength(json, 'utf8');

/** Strings longer than `maxChars` cut (marked), arrays longer than `maxItems` cut (marked). */
function shrink(value: unknown, maxChars: number, maxItems: number, depth = 0): unknown {
  if (typeof value === 'string') {
    if (value.length <= maxChars) return value;
    let cut = value.slice(0, maxChars);
    const last = cut.charCodeAt(cut.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
    return `${cut}…[truncated ${value.length - cut.length} chars]`;
  }
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    const n = Math.min(value.length, maxItems);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = shrink(value[i], maxChars, maxItems, depth + 1);
    if (value.length > n) out.push(`…[truncated ${value.length - n} items]`);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = shrink((value as Record<string, unknown>)[k], maxChars, maxItems, depth + 1);
  return out;
}

/**
 * One body as JSON text of at most `maxBytes`: redacted, then, if too big, long strings and
 * arrays are cut inside the structure (halving the limits until it fits) so the stored value
 * stays valid JSON a reader can still navigate. A last resort keeps a short preview string.
 */
export function prepareBody(value: unknown, policy: PayloadPolicy): PreparedBody {
  if (value === null || value === undefined) return { json: null, truncated: false };
  if (policy.quick) {
    const quick = quickBody(value, policy, policy.quick);
    if (quick) return quick;
  }
  const clean = redactValue(value, policy);
  const json = JSON.stringify(clean);
  if (json === undefined) return { json: null, truncated: false };
  const cap = policy.maxBytes;
  const size = byteLength(json, cap);
  if (size <= cap) return { json, truncated: false };

  let maxChars = Math.max(16, Math.floor(cap / 2));
  let maxItems = Math.max(4, Math.floor(cap / 16));
  for (let i = 0; i < 24; i++) {
    const cut = JSON.stringify(shrink(clean, maxChars, maxItems));
    if (byteLength(cut, cap) <= cap) return { json: cut, truncated: true };
    if (maxChars <= 16 && maxItems <= 1) break;
    maxChars = Math.max(16, maxChars >> 1);
    maxItems = Math.max(1, maxItems >> 1);
  }
  // Deep or very wide structures: keep the start of the text as a string (still valid JSON).
  const previewChars = Math.max(0, Math.floor(cap / 8) - 64);
  const preview = JSON.stringify({ truncated_preview: storableText(json.slice(0, previewChars)), original_bytes: size });
  return { json: preview, truncated: true };
}

/** The body's text as it is, when the scan shows the walk would not change it (payload-scan.ts). */
function quickBody(value: unknown, policy: PayloadPolicy, scan: QuickScan): PreparedBody | null {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return null; // a bigint or a cycle: the walk copes
  }
  if (json === undefined) return { json: null, truncated: false };
  if (byteLength(json, policy.maxBytes) > policy.maxBytes || !nothingToRedact(json, scan)) return null;
  return { json, truncated: false };
}
