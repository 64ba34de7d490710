CREATE TABLE `signed_request_nonces` (
	`nonce` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `signed_request_nonces_expires_idx` ON `signed_request_nonces` (`expires_at`);