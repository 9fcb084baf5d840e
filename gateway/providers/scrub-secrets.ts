import type { ProviderConfig } from '../config/schema.ts';

/**
 * Removes credentials from text that may reach a client or a log: the configured secrets
 * themselves, and anything shaped like a provider or bearer key (providers echo masked keys
 * such as "sk-ab***********wxyz" in their error messages).
 */
const KEY_SHAPES = /\b(?:sk|pk|rk|sess)[-_][A-Za-z0-9_*\-]{6,}(?:\.[A-Za-z0-9_*\-]+)*|\bbearer\s+[A-Za-z0-9._~+/=*\-]{8,}/gi;

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  return out.replace(KEY_SHAPES, '[redacted]');
}

/**
 * A configured header value shorter than this is not treated as a secret: values such as
 * `json` or `2023-06-01` would otherwise be cut out of every upstream message, and a
 * credential that short is not worth the name.
 */
const HEADER_SECRET_MIN = 8;

/**
 * Everything in a provider's config that may be a credential, for scrubbing upstream echoes:
 * the api_key, every value of `headers:` (a custom auth header is as secret as the key; its
 * token alone too, since an upstream may quote `Bearer xyz` as `xyz`), and the password or
 * user in a base_url. Longest first, so a value is removed before a part of it.
 */
export function providerSecrets(config: Pick<ProviderConfig, 'api_key' | 'headers' | 'base_url'>): string[] {
  const out = new Set<string>();
  if (config.api_key) out.add(config.api_key);
  for (const value of Object.values(config.headers ?? {})) {
    const v = value.trim();
    if (v.length >= HEADER_SECRET_MIN) out.add(v);
    for (const part of v.split(/\s+/)) if (part.length >= HEADER_SECRET_MIN) out.add(part);
  }
  if (config.base_url) {
    try {
      const url = new URL(config.base_url);
      for (const part of [url.password, url.username]) {
        const decoded = safeDecode(part);
        if (decoded.length >= 4) out.add(decoded);
        if (part.length >= 4) out.add(part);
      }
    } catch {
      // validated at boot; nothing to add
    }
  }
  return [...out].sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
