-- The root principal (scope "*"), seeded as a PUBLIC KEY ONLY. It bootstraps the admin API: the
-- root mints tokens that create every other principal.
--
-- This public key is the one of seed/DEV-ONLY-root-key.pem, for local development and tests
-- only. In production insert your own root key instead (README, "Production root key").
INSERT OR IGNORE INTO principals (id, name, public_key, scopes, created_at, updated_at)
VALUES ('prn_root', 'root', 'DAdJDbMngbet8lmbmm46AXMNlgr4pUKi2VPYN4-Vz8E', '*', unixepoch(), unixepoch());
