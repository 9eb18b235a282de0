-- Legal holds placed through the API: a reference (a case or claim number), who released a
-- hold and why, and the several vehicles of a hold placed on a move (`legal_hold_vehicles`;
-- `all_vehicles` for a hold on every vehicle, so a hold never covers everything by an empty
-- list). The single `vehicle` column this replaces is carried over and dropped.
ALTER TABLE legal_holds ADD COLUMN reference TEXT NOT NULL DEFAULT '';
ALTER TABLE legal_holds ADD COLUMN all_vehicles BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE legal_holds ADD COLUMN released_by TEXT;
ALTER TABLE legal_holds ADD COLUMN release_reason TEXT;

CREATE TABLE legal_hold_vehicles (
    hold_id BIGINT NOT NULL REFERENCES legal_holds (id),
    vehicle TEXT NOT NULL,
    PRIMARY KEY (hold_id, vehicle)
);
CREATE INDEX legal_hold_vehicles_by_vehicle ON legal_hold_vehicles (vehicle);

INSERT INTO legal_hold_vehicles (hold_id, vehicle) SELECT id, vehicle FROM legal_holds WHERE vehicle IS NOT NULL;
UPDATE legal_holds SET all_vehicles = (vehicle IS NULL);
ALTER TABLE legal_holds DROP COLUMN vehicle;

-- Which holds kept how many due positions in a purge: [{"hold": ID, "positions": N}].
ALTER TABLE purges ADD COLUMN held_by TEXT NOT NULL DEFAULT '[]';
