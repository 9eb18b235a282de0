-- Which people escort which move: an escort sees only the moves they are assigned to.
CREATE TABLE move_team (
    move_id  TEXT NOT NULL REFERENCES moves (id) ON DELETE CASCADE,
    username TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    PRIMARY KEY (move_id, username)
);

CREATE INDEX move_team_by_user ON move_team (username);
