CREATE TABLE "documents" (
	"collection" text NOT NULL,
	"id" text NOT NULL,
	"text" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"language" "regconfig" DEFAULT 'english'::regconfig NOT NULL,
	"tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector("language", "text")) STORED NOT NULL,
	"embedding" real[],
	"embedding_model" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "documents_pkey" PRIMARY KEY("collection","id")
);
--> statement-breakpoint
CREATE INDEX "documents_tsv_idx" ON "documents" USING gin ("tsv");