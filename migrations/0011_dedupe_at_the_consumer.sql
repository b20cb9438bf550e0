-- Dedupe moves from the webhook path to the queue consumer (core::dedupe): a key now belongs to
-- the queue message that claimed it first (`owner`, the message's id, which its retries keep),
-- instead of being pending or committed under a request. Keys committed before this migration
-- keep deduplicating until they expire, under an owner no queue message has; pending ones lapse.
CREATE TABLE dedupe_keys_by_owner (
  key        TEXT    PRIMARY KEY,
  owner      TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

INSERT INTO dedupe_keys_by_owner (key, owner, expires_at)
  SELECT key, 'before-0011', expires_at FROM dedupe_keys WHERE committed = 1;

DROP TABLE dedupe_keys;
ALTER TABLE dedupe_keys_by_owner RENAME TO dedupe_keys;
CREATE INDEX dedupe_keys_expires_at ON dedupe_keys (expires_at);
