CREATE TABLE "responses" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"previous_response_id" text,
	"model" text NOT NULL,
	"request" jsonb NOT NULL,
	"input_items" jsonb NOT NULL,
	"output_items" jsonb NOT NULL,
	"response" jsonb NOT NULL,
	"call_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE INDEX "responses_created_at_idx" ON "responses" USING btree ("created_at");