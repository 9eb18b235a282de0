-- A move's sealed items and the checkpoints where escorts saw them (intact, broken, missing).
-- Seals keep their list order (place); a seal named by a checkpoint cannot be removed (the
-- foreign key below; the gateway checks first). Checkpoints are evidence: UPDATE, DELETE and
-- TRUNCATE are refused (triggers, as for the audit log).
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
    id          BIGSERIAL PRIMARY KEY,
    move_id     TEXT NOT NULL REFERENCES moves (id),
    stage       TEXT NOT NULL,
    vehicle     TEXT,
    at          TIMESTAMPTZ NOT NULL,
    recorded_by TEXT NOT NULL,
    note        TEXT,
    fix_t       TIMESTAMPTZ,
    fix_seq     BIGINT,
    lat         DOUBLE PRECISION,
    lon         DOUBLE PRECISION
);

CREATE INDEX seal_checkpoints_by_move ON seal_checkpoints (move_id, at);

-- Each seal seen at a checkpoint, with its number and label as they were then.
CREATE TABLE seal_checkpoint_states (
    checkpoint_id BIGINT NOT NULL REFERENCES seal_checkpoints (id),
    place         INTEGER NOT NULL,
    seal_id       TEXT NOT NULL REFERENCES move_seals (id),
    seal_number   TEXT NOT NULL,
    seal_label    TEXT NOT NULL,
    state         TEXT NOT NULL,
    note          TEXT,
    PRIMARY KEY (checkpoint_id, seal_id)
);

CREATE INDEX seal_checkpoint_states_by_seal ON seal_checkpoint_states (seal_id);

CREATE FUNCTION seal_checkpoints_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;

CREATE TRIGGER seal_checkpoints_append_only BEFORE UPDATE OR DELETE ON seal_checkpoints
    FOR EACH ROW EXECUTE FUNCTION seal_checkpoints_refuse_change();
CREATE TRIGGER seal_checkpoints_no_truncate BEFORE TRUNCATE ON seal_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION seal_checkpoints_refuse_change();
CREATE TRIGGER seal_checkpoint_states_append_only BEFORE UPDATE OR DELETE ON seal_checkpoint_states
    FOR EACH ROW EXECUTE FUNCTION seal_checkpoints_refuse_change();
CREATE TRIGGER seal_checkpoint_states_no_truncate BEFORE TRUNCATE ON seal_checkpoint_states
    FOR EACH STATEMENT EXECUTE FUNCTION seal_checkpoints_refuse_change();
