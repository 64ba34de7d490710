CREATE TABLE `admin_alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`message` text NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `admin_alerts_created_idx` ON `admin_alerts` (`created_at`);--> statement-breakpoint
CREATE TABLE `follows` (
	`follower_id` text NOT NULL,
	`broadcaster_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`follower_id`, `broadcaster_id`),
	FOREIGN KEY (`broadcaster_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `follows_broadcaster_idx` ON `follows` (`broadcaster_id`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`stream_id` text,
	`broadcaster_id` text,
	`data` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notifications_user_idx` ON `notifications` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `stream_stats` (
	`stream_id` text PRIMARY KEY NOT NULL,
	`duration_ms` integer NOT NULL,
	`peak_viewers` integer NOT NULL,
	`avg_viewers` real NOT NULL,
	`joins` integer NOT NULL,
	`leaves` integer NOT NULL,
	`ended_at` integer NOT NULL,
	FOREIGN KEY (`stream_id`) REFERENCES `streams`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `origins` ADD `egress_bps` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `origins` ADD `cpu` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `origins` ADD `removed_at` integer;--> statement-breakpoint
ALTER TABLE `streams` ADD `last_activity_at` integer;--> statement-breakpoint
ALTER TABLE `streams` ADD `thumbnail_url` text;--> statement-breakpoint
ALTER TABLE `streams` ADD `playback_mode` text DEFAULT 'origin' NOT NULL;--> statement-breakpoint
ALTER TABLE `streams` ADD `location` text;--> statement-breakpoint
ALTER TABLE `streams` ADD `event_snapshot` text;--> statement-breakpoint
ALTER TABLE `streams` ADD `end_reason` text;--> statement-breakpoint
CREATE INDEX `streams_status_created_idx` ON `streams` (`status`,`created_at`);