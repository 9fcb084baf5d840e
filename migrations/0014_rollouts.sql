CREATE TABLE "prompt_label_splits" (
	"prompt_id" uuid NOT NULL,
	"label" text NOT NULL,
	"version" integer NOT NULL,
	"percent" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	CONSTRAINT "prompt_label_splits_pkey" PRIMARY KEY("prompt_id","label")
);
--> statement-breakpoint
CREATE TABLE "rollouts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"candidate" text NOT NULL,
	"control" text NOT NULL,
	"plan" jsonb NOT NULL,
	"state" text NOT NULL,
	"step" integer DEFAULT 0 NOT NULL,
	"weights" jsonb NOT NULL,
	"previous" jsonb NOT NULL,
	"p_values" jsonb NOT NULL,
	"evidence" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"incident_id" uuid,
	"started_by" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"step_started_at" timestamp with time zone NOT NULL,
	"evaluated_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "prompt_label_splits" ADD CONSTRAINT "prompt_label_splits_version_fk" FOREIGN KEY ("prompt_id","version") REFERENCES "public"."prompt_versions"("prompt_id","version") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "rollouts_running_target_idx" ON "rollouts" USING btree ("kind","target") WHERE state = 'running';--> statement-breakpoint
CREATE INDEX "rollouts_target_started_idx" ON "rollouts" USING btree ("kind","target","started_at");