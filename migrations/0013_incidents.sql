CREATE TABLE "incidents" (
	"id" uuid PRIMARY KEY NOT NULL,
	"monitor" text NOT NULL,
	"scope" jsonb NOT NULL,
	"metric" text NOT NULL,
	"value" double precision NOT NULL,
	"baseline" double precision,
	"detector" jsonb NOT NULL,
	"status" text NOT NULL,
	"evidence" jsonb NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"resolved_by" text
);
--> statement-breakpoint
CREATE TABLE "monitor_states" (
	"monitor" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"value" double precision,
	"samples" integer NOT NULL,
	"evaluated_at" timestamp with time zone NOT NULL,
	"open_incident_id" uuid,
	"ok_since" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notification_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"incident_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"event" text NOT NULL,
	"status" text NOT NULL,
	"claimed_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status" integer,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "incidents_status_idx" ON "incidents" USING btree ("status","opened_at");--> statement-breakpoint
CREATE INDEX "notification_deliveries_pending_idx" ON "notification_deliveries" USING btree ("status","created_at");