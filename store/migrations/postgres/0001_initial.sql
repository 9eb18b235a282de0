CREATE TABLE vehicles (
    id            TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'dispatcher', 'escort', 'auditor')),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each bearer token is kept, so a copy of the database logs nobody in.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);

-- (vehicle, seq, t) is the identity of a fix: a redelivered message is stored once. The time
-- column is in the key because TimescaleDB and native partitioning require it.
CREATE TABLE positions (
    vehicle     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    t           TIMESTAMPTZ NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    alt_m       DOUBLE PRECISION,
    speed_mps   DOUBLE PRECISION,
    course_deg  DOUBLE PRECISION,
    fix         TEXT,
    sats        INTEGER,
    hdop        DOUBLE PRECISION,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (vehicle, seq, t)
);

CREATE INDEX positions_by_vehicle_time ON positions (vehicle, t);

-- The newest fix of each vehicle by fix time; a late backlog never moves it backwards.
CREATE TABLE vehicle_latest (
    vehicle     TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    t           TIMESTAMPTZ NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    alt_m       DOUBLE PRECISION,
    speed_mps   DOUBLE PRECISION,
    course_deg  DOUBLE PRECISION,
    fix         TEXT,
    sats        INTEGER,
    hdop        DOUBLE PRECISION,
    received_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dead_letters (
    id          BIGSERIAL PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    topic       TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
