CREATE TABLE `word_index_queue` (
	`blob_id` integer PRIMARY KEY NOT NULL,
	FOREIGN KEY (`blob_id`) REFERENCES `blobs`(`id`) ON UPDATE no action ON DELETE cascade
);
