ALTER TABLE "responses" ADD COLUMN "api_key_id" uuid;--> statement-breakpoint
ALTER TABLE "responses" ADD COLUMN "truncated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "responses" ADD COLUMN "stored_bytes" integer DEFAULT 0 NOT NULL;