-- Full-text index over the decoded text of each blob (IMAP SEARCH TEXT/BODY): word tokens
-- (unicode61, case and diacritics folded), queried as word prefixes. Contentless (the text is
-- recoverable from the blob) with contentless_delete so expiry can remove rows.
CREATE VIRTUAL TABLE `blob_text` USING fts5(`body`, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
