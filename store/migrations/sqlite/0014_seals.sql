-- A move's sealed items and the checkpoints where escorts saw them (intact, broken, missing).
-- Seals keep their list order (place); a seal named by a checkpoint cannot be removed (the
-- foreign key below; the gateway checks first). Checkpoints are evidence: never changed or
-- removed (triggers). Times are milliseconds since 1970.
CREATE TABLE move_seals (
    id          TEXT PRIMARY KEY,
    move_id     TEXT NOT NULL REFERENCES moves (id),
    place       INTEGER NOT NULL,
    label       TEXT NOT NULL,
    number      TEXT NOT NULL,
    contents    TEXT NOT NULL,
    sensitivity TEXT NOT NULL,
    vehicle     TEXT
);

CREATE INDEX move_seals_by_move ON move_seals (move_id, place);

-- Who recorded it, when (the server's clock), the vehicle's latest stored fix then (NULL if
-- none was known), and the note.
CREATE TABLE seal_checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    move_id     TEXT NOT NULL REFERENCES moves (id),
    stage       TEXT NOT NULL,
    vehicle     TEXT,
    at_ms       INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    note        TEXT,
    fix_ms      INTEGER,
    fix_seq     INTEGER,
    lat         REAL,
    lon         REAL
);

CREATE INDEX seal_checkpoints_by_move ON seal_checkpoints (move_id, at_ms);

-- Each seal seen at a checkpoint, with its number and label as they were then.
CREATE TABLE seal_checkpoint_states (
    checkpoint_id INTEGER NOT NULL REFERENCES seal_checkpoints (id),
    place         INTEGER NOT NULL,
    seal_id       TEXT NOT NULL REFERENCES move_seals (id),
    seal_number   TEXT NOT NULL,
    seal_label    TEXT NOT NULL,
    state         TEXT NOT NULL,
    note          TEXT,
    PRIMARY KEY (checkpoint_id, seal_id)
);

CREATE INDEX seal_checkpoint_states_by_seal ON seal_checkpoint_states (seal_id);

CREATE TRIGGER seal_checkpoints_no_update BEFORE UPDATE ON seal_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'seal_checkpoints is append-only');
END;

CREATE TRIGGER seal_checkpoints_no_delete BEFORE DELETE ON seal_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'seal_checkpoints is append-only');
END;

CREATE TRIGGER seal_checkpoint_states_no_update BEFORE UPDATE ON seal_checkpoint_states
BEGIN
    SELECT RAISE(ABORT, 'seal_checkpoint_states is append-only');
END;

CREATE TRIGGER seal_checkpoint_states_no_delete BEFORE DELETE ON seal_checkpoint_states
BEGIN
    SELECT RAISE(ABORT, 'seal_checkpoint_states is append-only');
END;
