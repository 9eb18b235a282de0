-- People administration: a disabled person cannot log in and has no token (disabling ends them);
-- when each last logged in (NULL: not since this column exists).
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;
