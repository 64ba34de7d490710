CREATE TABLE `origins` (
	`id` text PRIMARY KEY NOT NULL,
	`base_url` text NOT NULL,
	`rtmp_url` text NOT NULL,
	`capacity` integer NOT NULL,
	`active_streams` integer DEFAULT 0 NOT NULL,
	`pool` text DEFAULT 'standard' NOT NULL,
	`last_heartbeat_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `origins_pool_heartbeat_idx` ON `origins` (`pool`,`last_heartbeat_at`);--> statement-breakpoint
CREATE TABLE `streams` (
	`id` text PRIMARY KEY NOT NULL,
	`key_hash` text NOT NULL,
	`owner_id` text NOT NULL,
	`origin_id` text,
	`status` text DEFAULT 'created' NOT NULL,
	`title` text DEFAULT '' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`event_id` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`origin_id`) REFERENCES `origins`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `streams_key_hash_unique` ON `streams` (`key_hash`);--> statement-breakpoint
CREATE INDEX `streams_owner_idx` ON `streams` (`owner_id`);--> statement-breakpoint
CREATE INDEX `streams_event_idx` ON `streams` (`event_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`api_key_hash` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_api_key_hash_unique` ON `users` (`api_key_hash`);