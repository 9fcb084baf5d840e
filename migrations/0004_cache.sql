CREATE TABLE "response_cache" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"usage" jsonb,
	"cost_micros" double precision,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "semantic_cache" (
	"scope" text NOT NULL,
	"cache_key" text NOT NULL,
	"embedding" real[] NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "semantic_cache_pkey" PRIMARY KEY("scope","cache_key")
);
--> statement-breakpoint
CREATE INDEX "response_cache_expires_at_idx" ON "response_cache" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "semantic_cache_scope_created_idx" ON "semantic_cache" USING btree ("scope","created_at");--> statement-breakpoint
CREATE INDEX "semantic_cache_expires_at_idx" ON "semantic_cache" USING btree ("expires_at");