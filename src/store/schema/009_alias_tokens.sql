-- Alias tokens: a token a person makes for their password manager, good
-- only for the two alias-creation routes (SimpleLogin's and addy.io's
-- subsets). A row's scope is NULL for an ordinary token or session, or
-- 'aliases'; name is the person's own label for it ("Bitwarden").
ALTER TABLE tokens ADD COLUMN scope TEXT;
ALTER TABLE tokens ADD COLUMN name TEXT;
