import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Dashboard sessions (gateway/ui/session-db.ts), shared by every instance on the database. The
 * cookie holds a random 256-bit id; a row holds only its SHA-256 and the operator's admin key
 * sealed under a key derived from that id, so neither the cookie nor the row alone yields the
 * admin key. Sign-out deletes the row, which ends the session on every instance.
 */
export const uiSessions = pgTable(
  'ui_sessions',
  {
    /** hex SHA-256 of the cookie's id. */
    idHash: text('id_hash').primaryKey(),
    /** base64url of IV (12 bytes), GCM tag (16 bytes) and the AES-256-GCM ciphertext of the admin key. */
    sealedKey: text('sealed_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    /** Absolute (not sliding): sign-in time plus the session lifetime. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('ui_sessions_expires_idx').on(t.expiresAt)],
);

export type UiSessionRow = typeof uiSessions.$inferSelect;
