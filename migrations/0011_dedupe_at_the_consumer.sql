-- Dedupe moves from the webhook path to the queue consumer (core::dedupe): a key now belongs to
-- the owner of the queue message that claimed it first (a random id the ingress puts in the
-- message, which the queue's retries keep), instead of being pending or committed under a
-- request. A column is added rather than the table rebuilt, so the version still running while
-- this migration is applied (scripts/deploy.sh migrates, then deploys) keeps working: it writes
-- rows without an owner, which the consumer treats as held (committed) or free (pending).
-- `committed` is dropped by a later migration, once no version that writes it can run.
ALTER TABLE dedupe_keys ADD COLUMN owner TEXT;
