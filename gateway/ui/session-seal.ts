import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The admin key of a session, sealed under its cookie id: AES-256-GCM with a key derived from
 * the id by HKDF-SHA256 (node:crypto; no library needed). The id is 256 random bits, so the
 * derived key is as strong as a stored secret, and no instance needs a secret of its own.
 */
const INFO = 'sluice-ui-session-v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A new cookie id: 256 random bits, base64url (43 characters). */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

/** What a session row is keyed by: the id itself never reaches the database. */
export const sessionIdHash = (id: string): string => createHash('sha256').update(id).digest('hex');

function keyOf(id: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(id, 'utf8'), Buffer.alloc(0), INFO, 32));
}

export function seal(id: string, secret: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(id), iv);
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The sealed secret, or undefined when `id` is not the one it was sealed under (or the box was altered). */
export function unseal(id: string, box: string): string | undefined {
  const raw = Buffer.from(box, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(id), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
