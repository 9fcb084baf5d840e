ALTER TABLE "call_payloads" ADD COLUMN "rag" jsonb;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "retrieval_ms" real;