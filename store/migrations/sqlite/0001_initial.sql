-- Times are milliseconds since the Unix epoch, UTC.
CREATE TABLE vehicles (
    id            TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'dispatcher', 'escort', 'auditor')),
    password_hash TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);

-- Only a SHA-256 of each bearer token is kept, so a copy of the database logs nobody in.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    expires_ms INTEGER NOT NULL
);

-- (vehicle, seq, t) is the identity of a fix: a redelivered message is stored once. The time
-- is part of the key so that the PostgreSQL twin can be partitioned by it.
CREATE TABLE positions (
    vehicle     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    t_ms        INTEGER NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    alt_m       REAL,
    speed_mps   REAL,
    course_deg  REAL,
    fix         TEXT,
    sats        INTEGER,
    hdop        REAL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (vehicle, seq, t_ms)
) WITHOUT ROWID;

CREATE INDEX positions_by_vehicle_time ON positions (vehicle, t_ms);

-- The newest fix of each vehicle by fix time; a late backlog never moves it backwards.
CREATE TABLE vehicle_latest (
    vehicle     TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    t_ms        INTEGER NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    alt_m       REAL,
    speed_mps   REAL,
    course_deg  REAL,
    fix         TEXT,
    sats        INTEGER,
    hdop        REAL,
    received_ms INTEGER NOT NULL
);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic       TEXT NOT NULL,
    payload     BLOB NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
