CREATE TABLE "budget_reservations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subjects" text[] NOT NULL,
	"period_starts" timestamp with time zone[] NOT NULL,
	"micros" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "budget_usage" (
	"subject" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"spent_micros" bigint DEFAULT 0 NOT NULL,
	"reserved" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "budget_usage_pkey" PRIMARY KEY("subject","period_start")
);
--> statement-breakpoint
CREATE TABLE "rate_windows" (
	"subject" text PRIMARY KEY NOT NULL,
	"requests" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tokens" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "budget_reservations_expires_at_idx" ON "budget_reservations" USING btree ("expires_at");