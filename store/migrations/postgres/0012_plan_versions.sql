-- Every version of a move's plan: version 1 as created, each edit the next, with who made it,
-- when, the fields it changed and the team it set (NULL if the edit left the team alone).
-- moves.plan is always the newest version's plan and moves.plan_version its number, so an edit
-- is one compare-and-set on the move's row.
ALTER TABLE moves ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE plan_versions (
    move_id    TEXT NOT NULL REFERENCES moves (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    plan       JSONB NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL,
    changes    JSONB NOT NULL,
    team       JSONB,
    PRIMARY KEY (move_id, version)
);

-- The moves made before versions: their plan as it stands is their version 1.
INSERT INTO plan_versions (move_id, version, plan, changed_at, changed_by, changes)
SELECT id, 1, plan, created_at, created_by, '[]'::jsonb FROM moves;
