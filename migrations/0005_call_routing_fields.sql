ALTER TABLE "calls" ADD COLUMN "cost_saved_micros" numeric;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "fallback_used" boolean DEFAULT false NOT NULL;