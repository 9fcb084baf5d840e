CREATE TABLE "call_scores" (
	"id" uuid PRIMARY KEY NOT NULL,
	"call_id" uuid NOT NULL,
	"scorer" text NOT NULL,
	"score" double precision,
	"label" text,
	"reason" text,
	"source" text NOT NULL,
	"run_id" uuid,
	"details" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "eval_datasets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"item_count" integer NOT NULL,
	"source" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "eval_datasets_name_version_key" UNIQUE("name","version")
);
--> statement-breakpoint
CREATE TABLE "eval_items" (
	"dataset_id" uuid NOT NULL,
	"item_id" text NOT NULL,
	"position" integer NOT NULL,
	"data" jsonb NOT NULL,
	CONSTRAINT "eval_items_pkey" PRIMARY KEY("dataset_id","item_id")
);
--> statement-breakpoint
CREATE TABLE "eval_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"job" jsonb NOT NULL,
	"mode" text DEFAULT 'offline' NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"dataset_name" text,
	"dataset_version" text,
	"trigger" text DEFAULT 'cli' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"worker" text,
	"progress" jsonb,
	"error" text,
	"summary" jsonb
);
--> statement-breakpoint
CREATE TABLE "eval_schedules" (
	"name" text PRIMARY KEY NOT NULL,
	"cron" text NOT NULL,
	"job" jsonb NOT NULL,
	"next_run_at" timestamp with time zone NOT NULL,
	"last_run_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "eval_scores" (
	"run_id" uuid NOT NULL,
	"item_id" text NOT NULL,
	"target" text NOT NULL,
	"output" text,
	"scorer" text NOT NULL,
	"score" double precision,
	"reason" text,
	"details" jsonb,
	"judge_prompt_version" text,
	"judge_model" text,
	"call_id" uuid,
	"latency_ms" real,
	"cost_usd" double precision,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "eval_scores_pkey" PRIMARY KEY("run_id","target","item_id","scorer")
);
--> statement-breakpoint
ALTER TABLE "eval_items" ADD CONSTRAINT "eval_items_dataset_id_eval_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."eval_datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eval_scores" ADD CONSTRAINT "eval_scores_run_id_eval_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."eval_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "call_scores_call_idx" ON "call_scores" USING btree ("call_id");--> statement-breakpoint
CREATE INDEX "call_scores_scorer_idx" ON "call_scores" USING btree ("scorer","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "call_scores_eval_key" ON "call_scores" USING btree ("call_id","scorer") WHERE source = 'eval';--> statement-breakpoint
CREATE INDEX "eval_datasets_name_idx" ON "eval_datasets" USING btree ("name","created_at");--> statement-breakpoint
CREATE INDEX "eval_runs_status_idx" ON "eval_runs" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "eval_runs_name_idx" ON "eval_runs" USING btree ("name","created_at");