-- 0006_hardening: when a user's credentials or status last changed (tokens issued before
-- are refused: server/auth/bearer.c, docs/auth.md "Revocation"), and the (user, address)
-- pairs that logged in successfully (they get past the per-user and per-address login
-- ceilings: server/auth/login_limit.c, docs/auth.md "Brute-force protection").

-- Existing users get the epoch (nothing changed yet: their tokens stay valid); new
-- users get the time of their creation.
ALTER TABLE users ADD COLUMN credentials_changed_at timestamptz NOT NULL
    DEFAULT '1970-01-01 00:00:00+00';
ALTER TABLE users ALTER COLUMN credentials_changed_at SET DEFAULT clock_timestamp();

-- Stamps a change of the password, of the enabled flag or an anonymisation, whoever
-- makes it (the API, `sluice user`, SQL by hand). A rehash of the same password with new
-- Argon2id parameters (at login) says so with the transaction-local setting
-- sluice.rehash = 'on' and keeps the stamp.
CREATE FUNCTION sluice_stamp_credentials() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.enabled IS DISTINCT FROM OLD.enabled
       OR NEW.anonymised_at IS DISTINCT FROM OLD.anonymised_at
       OR (NEW.password_hash IS DISTINCT FROM OLD.password_hash
           AND coalesce(current_setting('sluice.rehash', true), '') <> 'on') THEN
        NEW.credentials_changed_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_stamp_credentials BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sluice_stamp_credentials();

-- A (user, client address) pair that logged in successfully: a keyed BLAKE2b hash of
-- both (neither is stored), and when it last did. Rows unused for 180 days are purged
-- by maintenance.prune.
CREATE TABLE login_known_addresses (
    key     bytea PRIMARY KEY,
    last_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_known_addresses_last_at ON login_known_addresses (last_at);
