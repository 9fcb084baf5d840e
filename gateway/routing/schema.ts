import { sql } from 'drizzle-orm';
import { doublePrecision, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { StoredLayout } from './layout.ts';

/**
 * Runtime weights of a route's variants (canary), one row per variant, set by
 * `PUT /api/routes/{name}/weights` and removed by `DELETE` (back to the config's weights).
 */
export const routeWeights = pgTable(
  'route_weights',
  {
    route: text('route').notNull(),
    variant: text('variant').notNull(),
    weight: doublePrecision('weight').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [primaryKey({ name: 'route_weights_pkey', columns: [t.route, t.variant] })],
);

/**
 * Where each variant sits on a route's assignment line (routing/layout.ts): weight changes
 * edit it with minimal movement, so it is state shared by every instance. `revision` is
 * bumped on every write, so pollers detect a change with one aggregate.
 */
export const routeLayouts = pgTable('route_layouts', {
  route: text('route').primaryKey(),
  layout: jsonb('layout').$type<StoredLayout>().notNull(),
  revision: integer('revision').notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
  updatedBy: text('updated_by').notNull(),
});

export type RouteWeightRow = typeof routeWeights.$inferSelect;
export type RouteLayoutRow = typeof routeLayouts.$inferSelect;
