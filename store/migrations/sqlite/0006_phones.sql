-- Phones that report a vehicle's positions through an app (OwnTracks, Traccar Client). Each is
-- registered to one vehicle, and its fixes are stored as that vehicle's, so every rule, track
-- and report treats them alike. `name` is the OwnTracks user name (one per phone: it is the
-- MQTT and HTTP login) or the Traccar device id. A phone that belongs to a person (`person`) is
-- tracked only while a move that person escorts is running.
CREATE TABLE devices (
    kind             TEXT NOT NULL CHECK (kind IN ('owntracks', 'traccar')),
    name             TEXT NOT NULL,
    owntracks_device TEXT,
    vehicle          TEXT NOT NULL REFERENCES vehicles (id),
    person           TEXT REFERENCES users (name),
    secret_hash      TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);

-- The accuracy a phone reports (metres), and which device sent a fix (NULL: the vehicle's
-- agent; else 'owntracks:NAME' or 'traccar:ID').
ALTER TABLE positions ADD COLUMN accuracy_m REAL;
ALTER TABLE positions ADD COLUMN source TEXT;
ALTER TABLE vehicle_latest ADD COLUMN accuracy_m REAL;
