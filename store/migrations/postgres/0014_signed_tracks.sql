-- Signed tracks (issue 15). A vehicle's public keys: each signs the fixes timed from its
-- valid_from to the next key's valid_from. A key is never deleted: it verifies the past.
-- A key id names one key of one truck, so it is unique across vehicles.
CREATE TABLE vehicle_keys (
    vehicle          TEXT NOT NULL REFERENCES vehicles (id),
    key_id           TEXT NOT NULL UNIQUE,
    public_key       TEXT NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    registered_at    TIMESTAMPTZ NOT NULL,
    registered_by    TEXT NOT NULL,
    PRIMARY KEY (vehicle, key_id)
);

-- The chain hash of the fix before this one, as its signed batch proved; NULL: an unsigned fix.
-- Nullable without a default, so a compressed TimescaleDB hypertable takes it too.
ALTER TABLE positions ADD COLUMN prev_hash BYTEA;

-- Every verified batch's signed chain head: what proves the fixes up to seq.
CREATE TABLE signed_heads (
    vehicle      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    head         BYTEA NOT NULL,
    key_id       TEXT NOT NULL,
    sig          BYTEA NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (vehicle, seq, head)
);

-- Seqs missing from a vehicle's chain, found when a batch arrived whose prev could not be
-- linked to a stored fix: from the last stored seq + 1 to the batch's first seq - 1.
CREATE TABLE chain_gaps (
    vehicle      TEXT NOT NULL,
    from_seq     BIGINT NOT NULL,
    to_seq       BIGINT NOT NULL,
    detected_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (vehicle, from_seq)
);
