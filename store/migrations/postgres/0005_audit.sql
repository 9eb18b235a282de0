-- The audit log: who did what, when and from where, hash-chained (see store/src/audit.rs).
-- seq is given by the store (1, 2, 3, ... with no gap); at is stored to the millisecond;
-- detail is JSON text exactly as hashed (jsonb would reorder it); actor is NULL when nobody is
-- known (a failed login with an unknown name).
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    from_addr TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE INDEX audit_log_by_time ON audit_log (at);

-- The chain's newest entry, updated with every append, so a deletion of the newest entries
-- that forgets it is found. One row.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);

-- Append-only: UPDATE, DELETE and TRUNCATE are refused. The table's owner can disable or drop
-- these triggers; the hash chain is what finds such changes.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
