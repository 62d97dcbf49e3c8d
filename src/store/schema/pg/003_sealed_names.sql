-- 003_sealed_names.sql — SQLite's 010_sealed_names.sql for PostgreSQL:
-- an alias and an own address are kept as their keyed hash (lookups,
-- uniqueness, and their tombstone after erasure) and sealed with the
-- person's data key where a view shows them (src/store/store.h, struct
-- store_codec). A value written in clear once would stay in dead tuples,
-- index pages and pg_wal for good; a hash and a seal are unreadable once
-- the person's data key is gone.
ALTER TABLE relationships ADD COLUMN alias_sealed text COLLATE "C";
ALTER TABLE own_addresses ADD COLUMN address_sealed text COLLATE "C";
-- The handle likewise (persons.handle its keyed hash).
ALTER TABLE persons ADD COLUMN handle_sealed text COLLATE "C";
