-- Every agent health report as it arrived, for a vehicle's status history (agent_status keeps
-- only the latest). Retention deletes reports older than its cutoff.
CREATE TABLE agent_status_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    vehicle     TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    status_json TEXT NOT NULL
);

CREATE INDEX agent_status_log_by_vehicle_time ON agent_status_log (vehicle, received_ms);
CREATE INDEX agent_status_log_by_time ON agent_status_log (received_ms);

-- A move and its plan (JSON text). Moves, alerts, their transitions and notifier deliveries are
-- the record of what happened: retention keeps them.
CREATE TABLE moves (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL
);

CREATE INDEX moves_by_creation ON moves (created_ms, id);

-- An alert's current state. Kind and state are stored by name; detail and cleared_detail are
-- JSON text. resolved_by is 'rule' or a username; cleared_ms is when the rule saw the condition
-- end, even if a person resolved the alert before. note is the latest note a person gave.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    move_id         TEXT NOT NULL,
    vehicle         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    zone            TEXT,
    state           TEXT NOT NULL,
    opened_ms       INTEGER NOT NULL,
    lat             REAL,
    lon             REAL,
    detail          TEXT NOT NULL,
    late            INTEGER NOT NULL DEFAULT 0,
    acknowledged_ms INTEGER,
    acknowledged_by TEXT,
    note            TEXT,
    resolved_ms     INTEGER,
    resolved_by     TEXT,
    cleared_ms      INTEGER,
    cleared_detail  TEXT
);

CREATE INDEX alerts_by_time ON alerts (opened_ms DESC, id);
CREATE INDEX alerts_by_move ON alerts (move_id, opened_ms DESC);
CREATE INDEX alerts_by_vehicle ON alerts (vehicle, opened_ms DESC);
CREATE INDEX alerts_by_state ON alerts (state, opened_ms DESC);

-- Every change of an alert's state (open, acknowledged, resolved), in the order it happened.
CREATE TABLE alert_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id   TEXT NOT NULL REFERENCES alerts (id),
    state      TEXT NOT NULL,
    changed_ms INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT
);

CREATE INDEX alert_transitions_by_alert ON alert_transitions (alert_id, id);

-- Every attempt of a notifier to deliver an alert's state. Not a foreign key: a notifier may
-- record an attempt before or without the alert's row.
CREATE TABLE alert_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id     TEXT NOT NULL,
    state        TEXT NOT NULL,
    notifier     TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    attempted_ms INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    detail       TEXT NOT NULL
);

CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id, id);
