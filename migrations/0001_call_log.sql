CREATE TABLE "call_payloads" (
	"call_id" uuid NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"request" jsonb,
	"response" jsonb,
	"truncated" boolean DEFAULT false NOT NULL,
	CONSTRAINT "call_payloads_pkey" PRIMARY KEY("started_at","call_id")
) PARTITION BY RANGE ("started_at");
--> statement-breakpoint
-- Catch-all so a write never fails for want of a day partition (gateway/calls/partitions.ts
-- creates the days ahead and moves any rows found here into their day).
CREATE TABLE "call_payloads_default" PARTITION OF "call_payloads" DEFAULT;
--> statement-breakpoint
CREATE TABLE "calls" (
	"id" uuid NOT NULL,
	"request_id" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"endpoint" text NOT NULL,
	"api_key_id" uuid,
	"route" text,
	"variant" text,
	"assignment" double precision,
	"shadow" boolean DEFAULT false NOT NULL,
	"parent_call_id" uuid,
	"provider" text,
	"model" text,
	"prompt_name" text,
	"prompt_version" integer,
	"stream" boolean DEFAULT false NOT NULL,
	"status" text NOT NULL,
	"http_status" smallint NOT NULL,
	"error_code" text,
	"error_message" text,
	"attempts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"latency_ms" real NOT NULL,
	"ttft_ms" real,
	"overhead_ms" real,
	"input_tokens" integer,
	"output_tokens" integer,
	"cached_tokens" integer,
	"cache_write_tokens" integer,
	"reasoning_tokens" integer,
	"cost_micros" numeric,
	"cost_status" text NOT NULL,
	"cache_status" text,
	"user" text,
	"metadata" jsonb,
	"retrieved_doc_ids" text[],
	CONSTRAINT "calls_pkey" PRIMARY KEY("started_at","id")
) PARTITION BY RANGE ("started_at");
--> statement-breakpoint
CREATE TABLE "calls_default" PARTITION OF "calls" DEFAULT;
--> statement-breakpoint
CREATE INDEX "calls_model_idx" ON "calls" USING btree ("model","started_at","id");--> statement-breakpoint
CREATE INDEX "calls_route_idx" ON "calls" USING btree ("route","started_at","id");--> statement-breakpoint
CREATE INDEX "calls_api_key_idx" ON "calls" USING btree ("api_key_id","started_at","id");--> statement-breakpoint
CREATE INDEX "calls_status_idx" ON "calls" USING btree ("status","started_at","id");--> statement-breakpoint
CREATE INDEX "calls_user_idx" ON "calls" USING btree ("user","started_at","id");