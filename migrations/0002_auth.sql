-- 0002_auth: users (passwords as Argon2id strings, personal data encrypted), the failed
-- login counts shared by every sluice copy, and the audit log.

-- A user. Personal data (email, full name) is stored only as XChaCha20-Poly1305
-- ciphertext with its nonce; email uniqueness goes through a keyed BLAKE2b hash of the
-- lower-cased address (blind index), so a dump reveals no address. A deleted user that
-- other rows point at is anonymised: username, password hash and personal data are
-- erased, the row (and so every reference to it) stays.
CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        citext UNIQUE,
    password_hash   text,
    role            text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    enabled         boolean NOT NULL DEFAULT true,
    email_ct        bytea,
    email_nonce     bytea,
    email_index     bytea,
    full_name_ct    bytea,
    full_name_nonce bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    anonymised_at   timestamptz,
    CONSTRAINT users_email_index_key UNIQUE (email_index),
    CONSTRAINT users_live_has_credentials
        CHECK (anonymised_at IS NOT NULL OR (username IS NOT NULL AND password_hash IS NOT NULL)),
    CONSTRAINT users_anonymised_is_empty
        CHECK (anonymised_at IS NULL OR (username IS NULL AND password_hash IS NULL
               AND email_ct IS NULL AND email_index IS NULL AND full_name_ct IS NULL
               AND NOT enabled)),
    CONSTRAINT users_email_complete
        CHECK ((email_ct IS NULL) = (email_nonce IS NULL) AND (email_ct IS NULL) = (email_index IS NULL)),
    CONSTRAINT users_full_name_complete
        CHECK ((full_name_ct IS NULL) = (full_name_nonce IS NULL))
);

CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sluice_touch_updated_at();

-- One row per failed login, twice: once under the key of the username, once under the
-- key of the client address. Keys are keyed BLAKE2b hashes (no username or address is
-- stored here). Rows older than the window no longer count and are purged.
CREATE TABLE login_failures (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key bytea NOT NULL,
    at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at DESC);
CREATE INDEX login_failures_at ON login_failures (at);

-- Who did what, from where, when. actor_id points at users (never cascades: deleting a
-- user who acted anonymises the user instead). Purged after AUDIT_RETENTION_DAYS.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id    bigint REFERENCES users (id),
    action      text NOT NULL,
    target      text,
    client_addr text,
    request_id  text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id);
