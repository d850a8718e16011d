-- Full-text index over the decoded text of each blob (IMAP SEARCH TEXT/BODY).
-- Trigram tokens make a phrase query a case-insensitive substring match, as IMAP wants;
-- contentless (content='') because the text itself is recoverable from the blob.
CREATE VIRTUAL TABLE `blob_text` USING fts5(`body`, content='', tokenize='trigram', columnsize=0);
