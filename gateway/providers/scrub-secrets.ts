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
