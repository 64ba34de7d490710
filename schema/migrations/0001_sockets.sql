CREATE TABLE `anonymous_viewers` (
	`id` text PRIMARY KEY NOT NULL,
	`ip_fingerprint` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `anonymous_viewers_fingerprint_idx` ON `anonymous_viewers` (`ip_fingerprint`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`sport` text NOT NULL,
	`status` text NOT NULL,
	`start_time` integer NOT NULL,
	`home_name` text NOT NULL,
	`home_score` integer DEFAULT 0 NOT NULL,
	`away_name` text NOT NULL,
	`away_score` integer DEFAULT 0 NOT NULL,
	`data` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_status_start_idx` ON `events` (`status`,`start_time`);--> statement-breakpoint
CREATE INDEX `events_start_idx` ON `events` (`start_time`);