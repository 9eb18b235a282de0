-- What ingest thought of each fix when it arrived, kept beside the raw values.
ALTER TABLE positions ADD COLUMN late BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE positions ADD COLUMN implausible TEXT;

-- Each agent's latest health report, as published (retained) on its status topic.
CREATE TABLE agent_status (
    vehicle     TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    status_json TEXT NOT NULL
);

-- Positions of a vehicle (every vehicle when NULL) with fix times in [from_t, to_t) survive
-- retention while the hold is in force (released_at NULL).
CREATE TABLE legal_holds (
    id          BIGSERIAL PRIMARY KEY,
    vehicle     TEXT,
    move_id     TEXT,
    from_t      TIMESTAMPTZ NOT NULL,
    to_t        TIMESTAMPTZ NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    released_at TIMESTAMPTZ
);

-- Every retention purge, for the record.
CREATE TABLE purges (
    id                   BIGSERIAL PRIMARY KEY,
    ran_at               TIMESTAMPTZ NOT NULL,
    cutoff               TIMESTAMPTZ NOT NULL,
    positions_deleted    BIGINT NOT NULL,
    partitions_dropped   BIGINT NOT NULL,
    positions_held       BIGINT NOT NULL,
    dead_letters_deleted BIGINT NOT NULL
);
