-- Platform key sets (JWKS) the webhook path verifies bearer JWTs with (Teams' Bot Framework keys,
-- Google Chat's and Google's keys), shared by every isolate: fetched from the fixed URLs in
-- [vars], kept until `expires_at` (the answer's Cache-Control max-age, within bounds), fetched
-- again for an unknown key id at most once a minute (`fetched_at`). Public keys only.
CREATE TABLE key_sets (
  name       TEXT    PRIMARY KEY,  -- botframework, google_chat, google_oidc
  body       TEXT    NOT NULL,     -- the JWKS document as fetched
  fetched_at INTEGER NOT NULL,     -- Unix seconds
  expires_at INTEGER NOT NULL      -- Unix seconds
) STRICT;
