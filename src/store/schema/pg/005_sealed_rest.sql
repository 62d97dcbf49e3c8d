-- 005_sealed_rest.sql — SQLite's 012_sealed_rest.sql for PostgreSQL: a
-- person-made relationship's brand name and domains, the domains blocked
-- at an own address and an API token's name, sealed with the person's
-- data key (src/store/store.h, struct store_codec). Written in clear once,
-- they would stay in dead tuples and pg_wal after erasure; sealed, they
-- cannot be read once the data key is gone. The clear columns hold
-- nothing new (NULL, or '[]' for blocked); the partial indexes find the
-- rows an older version wrote, which the store rewrites at start
-- (store_seal_clear, src/store/sql_codec.c).
ALTER TABLE relationships ADD COLUMN brand_name_sealed text COLLATE "C";
ALTER TABLE relationships ADD COLUMN domains_sealed text COLLATE "C";
ALTER TABLE own_addresses ADD COLUMN blocked_sealed text COLLATE "C";
ALTER TABLE tokens ADD COLUMN name_sealed text COLLATE "C";
CREATE INDEX relationships_made_clear ON relationships(id)
	WHERE brand_name IS NOT NULL OR domains IS NOT NULL;
CREATE INDEX own_addresses_blocked_clear ON own_addresses(person)
	WHERE blocked_sealed IS NULL AND length(blocked) > 2;
CREATE INDEX tokens_name_clear ON tokens(id)
	WHERE name_sealed IS NULL AND name IS NOT NULL;
