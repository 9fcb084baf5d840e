CREATE TABLE "route_layouts" (
	"route" text PRIMARY KEY NOT NULL,
	"layout" jsonb NOT NULL,
	"revision" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "route_weights" (
	"route" text NOT NULL,
	"variant" text NOT NULL,
	"weight" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	CONSTRAINT "route_weights_pkey" PRIMARY KEY("route","variant")
);
