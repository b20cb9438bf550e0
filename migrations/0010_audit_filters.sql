-- GET /v1/audit filters by target and by action, newest first: an index for each, in seq order,
-- so a filtered page reads the entries it returns instead of scanning the ledger. (`since` has
-- none: `at` grows with `seq`, so the newest-first scan meets the entries since then first.)
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
