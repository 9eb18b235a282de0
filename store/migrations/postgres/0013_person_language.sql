-- The language a person chose for the page ('en' or 'zh-CN'); NULL: never chosen (the page
-- follows the browser's).
ALTER TABLE users ADD COLUMN language TEXT;
