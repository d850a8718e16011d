CREATE TABLE `accounts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`login` text NOT NULL,
	`password_hash` text NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`password_changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_login_unique` ON `accounts` (`login`);--> statement-breakpoint
CREATE TABLE `aliases` (
	`address` text PRIMARY KEY NOT NULL,
	`account_id` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `aliases_account` ON `aliases` (`account_id`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`scope` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_name_unique` ON `api_tokens` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_token_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`actor_kind` text NOT NULL,
	`client_addr` text,
	`action` text NOT NULL,
	`message_id` integer,
	`detail` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_at` ON `audit` (`at`);--> statement-breakpoint
CREATE INDEX `audit_action` ON `audit` (`action`,`at`);--> statement-breakpoint
CREATE INDEX `audit_message` ON `audit` (`message_id`);--> statement-breakpoint
CREATE TABLE `blobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sha256` text NOT NULL,
	`raw_size` integer NOT NULL,
	`data` blob NOT NULL,
	`h_from` text DEFAULT '' NOT NULL,
	`h_to` text DEFAULT '' NOT NULL,
	`h_cc` text DEFAULT '' NOT NULL,
	`h_bcc` text DEFAULT '' NOT NULL,
	`h_subject` text DEFAULT '' NOT NULL,
	`h_message_id` text DEFAULT '' NOT NULL,
	`h_date` integer,
	`h_date_day` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `blobs_sha256_unique` ON `blobs` (`sha256`);--> statement-breakpoint
CREATE TABLE `changes` (
	`modseq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`message_id` integer NOT NULL,
	`kind` text NOT NULL,
	`recipient` text NOT NULL,
	`recipient_domain` text NOT NULL,
	`direction` text DEFAULT 'in' NOT NULL,
	`account_id` integer,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `domains` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`retention_days` integer,
	`route` text,
	`options` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `domains_name_unique` ON `domains` (`name`);--> statement-breakpoint
CREATE TABLE `message_flags` (
	`account_id` integer NOT NULL,
	`message_id` integer NOT NULL,
	`flags` integer DEFAULT 0 NOT NULL,
	`keywords` text,
	`modseq` integer NOT NULL,
	PRIMARY KEY(`account_id`, `message_id`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`blob_id` integer NOT NULL,
	`direction` text DEFAULT 'in' NOT NULL,
	`recipient` text NOT NULL,
	`recipient_domain` text NOT NULL,
	`sender` text DEFAULT '' NOT NULL,
	`score` real,
	`reason` text DEFAULT '' NOT NULL,
	`state` text DEFAULT 'caught' NOT NULL,
	`received_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`modseq` integer NOT NULL,
	`raw_size` integer NOT NULL,
	`last_error` text,
	`state_changed_at` integer,
	FOREIGN KEY (`blob_id`) REFERENCES `blobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `messages_rcpt_state` ON `messages` (`recipient`,`state`,`direction`);--> statement-breakpoint
CREATE INDEX `messages_domain_state` ON `messages` (`recipient_domain`,`state`,`direction`);--> statement-breakpoint
CREATE INDEX `messages_state` ON `messages` (`state`,`direction`);--> statement-breakpoint
CREATE INDEX `messages_expiry` ON `messages` (`state`,`expires_at`);--> statement-breakpoint
CREATE INDEX `messages_blob` ON `messages` (`blob_id`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`message_id` integer NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_owner` text,
	`lease_until` integer,
	`last_reply` text,
	`requested_by` text NOT NULL,
	`train` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `training_reports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`account_id` integer,
	`actor` text NOT NULL,
	`client_addr` text,
	`message_id` integer,
	`blob_id` integer NOT NULL,
	`dedupe_key` text NOT NULL,
	`tenant` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_owner` text,
	`lease_until` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`blob_id`) REFERENCES `blobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `training_due` ON `training_reports` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `training_dedupe` ON `training_reports` (`dedupe_key`);--> statement-breakpoint
CREATE TABLE `uid_marks` (
	`scope` text PRIMARY KEY NOT NULL,
	`uid_next` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `unsubscribed` (
	`account_id` integer NOT NULL,
	`folder` text NOT NULL,
	PRIMARY KEY(`account_id`, `folder`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
