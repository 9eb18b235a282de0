-- Vehicle administration: a disabled vehicle cannot log in to the embedded broker (its positions
-- stay).
ALTER TABLE vehicles ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
