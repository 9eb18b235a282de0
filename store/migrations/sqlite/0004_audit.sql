-- The audit log: who did what, when and from where, hash-chained (see store/src/audit.rs).
-- seq is given by the store (1, 2, 3, ... with no gap); detail is JSON text exactly as hashed;
-- actor is NULL when nobody is known (a failed login with an unknown name).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    from_addr TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE INDEX audit_log_by_time ON audit_log (at_ms);

-- The chain's newest entry, updated with every append, so a deletion of the newest entries
-- that forgets it is found. One row.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);

-- Append-only: the application never changes or removes an entry. (Someone with write access
-- to the file can drop these triggers; the hash chain is what finds such changes.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
