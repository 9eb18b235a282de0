-- The server's signed record (store/src/signed/): the public keys the server has signed with,
-- its signatures of the audit log's head, and the signed record of each retention purge.
-- All three are append-only: UPDATE, DELETE and TRUNCATE are refused (the tables' owner can
-- disable the triggers; the signatures are what find such changes).

-- Every public key the server has used, from when: past signatures verify after a rotation.
CREATE TABLE server_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL
);

-- A signature of the audit log's head (seq, hash) by the server's key (base64, 64 bytes).
CREATE TABLE audit_signatures (
    id        BIGSERIAL PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX audit_signatures_by_seq ON audit_signatures (seq);

-- What a retention purge destroyed: `record` is the JSON text exactly as signed (text, not
-- jsonb, which would reorder it).
CREATE TABLE destruction_records (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    record    TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE FUNCTION signed_record_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;

CREATE TRIGGER server_keys_append_only BEFORE UPDATE OR DELETE ON server_keys
    FOR EACH ROW EXECUTE FUNCTION signed_record_refuse_change();
CREATE TRIGGER server_keys_no_truncate BEFORE TRUNCATE ON server_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signed_record_refuse_change();
CREATE TRIGGER audit_signatures_append_only BEFORE UPDATE OR DELETE ON audit_signatures
    FOR EACH ROW EXECUTE FUNCTION signed_record_refuse_change();
CREATE TRIGGER audit_signatures_no_truncate BEFORE TRUNCATE ON audit_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION signed_record_refuse_change();
CREATE TRIGGER destruction_records_append_only BEFORE UPDATE OR DELETE ON destruction_records
    FOR EACH ROW EXECUTE FUNCTION signed_record_refuse_change();
CREATE TRIGGER destruction_records_no_truncate BEFORE TRUNCATE ON destruction_records
    FOR EACH STATEMENT EXECUTE FUNCTION signed_record_refuse_change();
