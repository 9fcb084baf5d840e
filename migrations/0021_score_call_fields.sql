ALTER TABLE "call_scores" ADD COLUMN "call_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "call_scores" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "call_scores" ADD COLUMN "variant" text;--> statement-breakpoint
ALTER TABLE "call_scores" ADD COLUMN "prompt_name" text;--> statement-breakpoint
ALTER TABLE "call_scores" ADD COLUMN "prompt_version" integer;--> statement-breakpoint
ALTER TABLE "call_scores" ADD COLUMN "production" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- Backfill: the scored call's fields, as the writers now copy them (evals/monitor/score-call-fields.ts):
-- production is what evals/monitor/filters.ts counts (no shadow, no eval run's own call). Scores
-- whose call is not in the log keep nulls and production false, as the old join dropped them.
UPDATE "call_scores" s SET
  "call_started_at" = c.started_at,
  "route" = c.route,
  "variant" = c.variant,
  "prompt_name" = c.prompt_name,
  "prompt_version" = c.prompt_version,
  "production" = (c.shadow = false AND (c.metadata->>'sluice_eval_run') IS NULL)
FROM "calls" c WHERE c.id = s.call_id;--> statement-breakpoint
CREATE INDEX "call_scores_production_time_idx" ON "call_scores" USING btree ("call_started_at") WHERE production;
