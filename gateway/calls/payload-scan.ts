/**
 * The payload fast path (issue 20 item 1, "serialise each payload once"): most bodies hold
 * nothing to redact, so instead of walking every string (payloads.ts `redactValue`) the body
 * is serialised once and its JSON text scanned, natively, for anything the walk could change.
 * When the scan finds nothing the text is stored as it is; when it finds something (or might:
 * every test here errs towards "maybe"), the body takes the walk as before. So the fast path
 * never stores what the walk would have redacted; it only skips a walk that would change
 * nothing.
 *
 * Why each check is enough, on JSON.stringify's output (escaping is per character, so a
 * substring of a raw string appears, escaped, in the text):
 * - a configured secret is found by its escaped form (secrets that are not printable ASCII turn
 *   the fast path off);
 * - key-shaped strings (`sk-…`, `bearer …`, scrub-secrets.ts) are searched without the word
 *   boundary, and any `bearer` at all, since the text of an escape (`\n`) can stand before them;
 * - a redacted field is a key, and every key is in the text as `"<escaped key>":`; the names
 *   are matched as suffixes, case-insensitively (`/i`, as the walk's `CREDENTIAL_NAME`);
 *   configured names that are not ASCII turn the fast path off, and the one character whose
 *   `toLowerCase` is an ASCII letter (U+212A KELVIN SIGN, `k`) sends a body to the walk;
 * - NUL and lone surrogates are escaped by JSON.stringify as `\u0000` and `\udXXX`;
 * - the walk's depth limit (64) cannot be reached with fewer than 64 brackets in all;
 * - configured patterns are regular expressions over raw strings, not over escaped text: with
 *   any configured, there is no fast path.
 * Values JSON cannot hold as such (typed arrays, objects with their own `toJSON`) are stored as
 * JSON.stringify writes them; every check above still runs on that text.
 */

export interface QuickScan {
  /** One pass: key shapes, redacted field names, escapes of what Postgres cannot store. */
  readonly suspect: RegExp;
  /** Configured secrets as they appear inside JSON text. */
  readonly secrets: readonly string[];
}

/** Credential-shaped key endings, as payloads.ts `CREDENTIAL_NAME` has them (without its anchor). */
const CREDENTIAL_WORDS = ['api[-_]?key', 'password', 'passwd', 'secret', '(?:access|refresh|auth|session|bearer)[-_]?token', 'authorization'];
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const escapeRe = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
/** Bodies with more brackets than this (nested or not) take the walk, which owns the depth limit. */
const BRACKETS_MAX = 63;

/** Null when the policy rules the fast path out (patterns, or names or secrets it cannot search for). */
export function compileQuickScan(fields: Iterable<string>, patterns: readonly RegExp[], secrets: readonly string[]): QuickScan | null {
  if (patterns.length > 0) return null;
  const names: string[] = [];
  for (const f of fields) {
    if (!PRINTABLE_ASCII.test(f)) return null;
    names.push(escapeRe(JSON.stringify(f).slice(1, -1)));
  }
  if (!secrets.every((s) => PRINTABLE_ASCII.test(s))) return null;
  // Without the `u` flag (a quarter faster here): then `\u212a` is that character.
  const suspect = new RegExp(
    `(?:sk|pk|rk|sess)[-_][A-Za-z0-9_*\\-]{6}|bearer|\u212a|\\\\u(?:0000|d[89a-f])|(?:${[...CREDENTIAL_WORDS, ...names].join('|')})":`,
    'i',
  );
  return { suspect, secrets: secrets.map((s) => JSON.stringify(s).slice(1, -1)) };
}

/** True when the walk would leave this body's text as it is (see above). */
export function nothingToRedact(json: string, scan: QuickScan): boolean {
  if (scan.suspect.test(json)) return false;
  for (const s of scan.secrets) if (json.includes(s)) return false;
  let brackets = 0;
  for (const open of ['{', '[']) {
    for (let i = json.indexOf(open); i !== -1; i = json.indexOf(open, i + 1)) {
      if (++brackets > BRACKETS_MAX) return false;
    }
  }
  return true;
}
