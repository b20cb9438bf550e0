-- 0001: the first schema.
--
-- Times are Unix seconds (INTEGER). Rows with an `expires_at` are deleted by the cron
-- housekeeping handler (src/edge/housekeeping.rs) once that time has passed.

-- Keys of provider events already accepted, so a provider's retry is not delivered twice.
-- `key` is namespaced by provider and installation, e.g. `slack:<app profile>:event:<event_id>`.
CREATE TABLE dedupe_keys (
  key        TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX dedupe_keys_expires_at ON dedupe_keys (expires_at);
