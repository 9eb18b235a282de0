-- What ingest thought of each fix when it arrived, kept beside the raw values.
ALTER TABLE positions ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN implausible TEXT;

-- Each agent's latest health report, as published (retained) on its status topic.
CREATE TABLE agent_status (
    vehicle     TEXT PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    status_json TEXT NOT NULL
);

-- Positions of a vehicle (every vehicle when NULL) with fix times in [from_ms, to_ms) survive
-- retention while the hold is in force (released_ms NULL).
CREATE TABLE legal_holds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    vehicle     TEXT,
    move_id     TEXT,
    from_ms     INTEGER NOT NULL,
    to_ms       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    released_ms INTEGER
);

-- Every retention purge, for the record.
CREATE TABLE purges (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    ran_ms               INTEGER NOT NULL,
    cutoff_ms            INTEGER NOT NULL,
    positions_deleted    INTEGER NOT NULL,
    partitions_dropped   INTEGER NOT NULL,
    positions_held       INTEGER NOT NULL,
    dead_letters_deleted INTEGER NOT NULL
);
