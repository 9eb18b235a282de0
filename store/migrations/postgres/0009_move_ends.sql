-- How a move was stopped before its window closed: ended early (it ran) or cancelled (it never
-- started), when, by whom and why. NULL ended_at: not stopped; its window alone says where it is.
ALTER TABLE moves ADD COLUMN ended_at TIMESTAMPTZ;
ALTER TABLE moves ADD COLUMN ended_by TEXT;
ALTER TABLE moves ADD COLUMN end_reason TEXT;
ALTER TABLE moves ADD COLUMN cancelled BOOLEAN NOT NULL DEFAULT false;
