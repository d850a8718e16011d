-- Full-text index over the decoded text of each blob (IMAP SEARCH TEXT/BODY).
-- Trigram tokens make a phrase query a case-insensitive substring match, as IMAP wants;
-- contentless (the text is recoverable from the blob) with contentless_delete so expiry can remove rows.
CREATE VIRTUAL TABLE `blob_text` USING fts5(`body`, content='', contentless_delete=1, tokenize='trigram');
