-- The server's signed record (store/src/signed/): the public keys the server has signed with,
-- its signatures of the audit log's head, and the signed record of each retention purge.
-- All three are append-only: triggers refuse UPDATE and DELETE (someone with write access to
-- the file can drop them; the signatures are what find such changes).

-- Every public key the server has used, from when: past signatures verify after a rotation.
CREATE TABLE server_keys (
    key_id        TEXT PRIMARY KEY,
    public_key    TEXT NOT NULL,
    valid_from_ms INTEGER NOT NULL
);

-- A signature of the audit log's head (seq, hash) by the server's key (base64, 64 bytes).
CREATE TABLE audit_signatures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    seq          INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    signature    TEXT NOT NULL,
    signed_at_ms INTEGER NOT NULL
);

CREATE INDEX audit_signatures_by_seq ON audit_signatures (seq);

-- What a retention purge destroyed: `record` is the JSON text exactly as signed.
CREATE TABLE destruction_records (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    record    TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TRIGGER server_keys_no_update BEFORE UPDATE ON server_keys
BEGIN
    SELECT RAISE(ABORT, 'server_keys is append-only');
END;

CREATE TRIGGER server_keys_no_delete BEFORE DELETE ON server_keys
BEGIN
    SELECT RAISE(ABORT, 'server_keys is append-only');
END;

CREATE TRIGGER audit_signatures_no_update BEFORE UPDATE ON audit_signatures
BEGIN
    SELECT RAISE(ABORT, 'audit_signatures is append-only');
END;

CREATE TRIGGER audit_signatures_no_delete BEFORE DELETE ON audit_signatures
BEGIN
    SELECT RAISE(ABORT, 'audit_signatures is append-only');
END;

CREATE TRIGGER destruction_records_no_update BEFORE UPDATE ON destruction_records
BEGIN
    SELECT RAISE(ABORT, 'destruction_records is append-only');
END;

CREATE TRIGGER destruction_records_no_delete BEFORE DELETE ON destruction_records
BEGIN
    SELECT RAISE(ABORT, 'destruction_records is append-only');
END;
