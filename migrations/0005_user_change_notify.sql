-- 0005_user_change_notify: tells every sluice copy on this database that a user changed,
-- so that each can drop the user from its principal cache (server/auth/principal_cache.c,
-- server/auth/principal_listener.c; see docs/auth.md "Token checks and caching").
-- The payload is the user's id as text. NOTIFY is transactional: the listeners hear it
-- when (and only if) the change commits, once per user and transaction.
CREATE FUNCTION sluice_notify_user_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_user_changed', OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_notify_change AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION sluice_notify_user_changed();
