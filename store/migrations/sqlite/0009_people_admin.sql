-- People administration: a disabled person cannot log in and has no token (disabling ends them);
-- when each last logged in (NULL: not since this column exists). Times are ms since 1970.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_login_ms INTEGER;
