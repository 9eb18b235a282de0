-- Every agent health report as it arrived, for a vehicle's status history (agent_status keeps
-- only the latest). Retention deletes reports older than its cutoff.
CREATE TABLE agent_status_log (
    id          BIGSERIAL PRIMARY KEY,
    vehicle     TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    status_json TEXT NOT NULL
);

CREATE INDEX agent_status_log_by_vehicle_time ON agent_status_log (vehicle, received_at);
CREATE INDEX agent_status_log_by_time ON agent_status_log (received_at);

-- A move and its plan. Moves, alerts, their transitions and notifier deliveries are the record
-- of what happened: retention keeps them.
CREATE TABLE moves (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL
);

CREATE INDEX moves_by_creation ON moves (created_at, id);

-- An alert's current state. Kind and state are stored by name. resolved_by is 'rule' or a
-- username; cleared_t is when the rule saw the condition end, even if a person resolved the
-- alert before. note is the latest note a person gave.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    move_id         TEXT NOT NULL,
    vehicle         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    zone            TEXT,
    state           TEXT NOT NULL,
    opened_t        TIMESTAMPTZ NOT NULL,
    lat             DOUBLE PRECISION,
    lon             DOUBLE PRECISION,
    detail          JSONB NOT NULL,
    late            BOOLEAN NOT NULL DEFAULT false,
    acknowledged_t  TIMESTAMPTZ,
    acknowledged_by TEXT,
    note            TEXT,
    resolved_t      TIMESTAMPTZ,
    resolved_by     TEXT,
    cleared_t       TIMESTAMPTZ,
    cleared_detail  JSONB
);

CREATE INDEX alerts_by_time ON alerts (opened_t DESC, id);
CREATE INDEX alerts_by_move ON alerts (move_id, opened_t DESC);
CREATE INDEX alerts_by_vehicle ON alerts (vehicle, opened_t DESC);
CREATE INDEX alerts_by_state ON alerts (state, opened_t DESC);

-- Every change of an alert's state (open, acknowledged, resolved), in the order it happened.
CREATE TABLE alert_transitions (
    id         BIGSERIAL PRIMARY KEY,
    alert_id   TEXT NOT NULL REFERENCES alerts (id),
    state      TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT
);

CREATE INDEX alert_transitions_by_alert ON alert_transitions (alert_id, id);

-- Every attempt of a notifier to deliver an alert's state. Not a foreign key: a notifier may
-- record an attempt before or without the alert's row.
CREATE TABLE alert_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    alert_id     TEXT NOT NULL,
    state        TEXT NOT NULL,
    notifier     TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    ok           BOOLEAN NOT NULL,
    detail       TEXT NOT NULL
);

CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id, id);
