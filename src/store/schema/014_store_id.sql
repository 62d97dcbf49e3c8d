-- The store's own id (kind 'store', one row, random): the keys directory
-- records the id of the store it serves (its file `store`), and every
-- command refuses a directory that serves another store, since a wrap
-- rotation of one store would destroy the wrap key of the other
-- (src/app/app.c, app_keys_check). SQLite cannot change a CHECK: the
-- table is made anew.
CREATE TABLE key_ids_new (
	id       TEXT PRIMARY KEY,  -- 16 lowercase hex digits
	kind     TEXT NOT NULL
		 CHECK (kind IN ('kek', 'signing', 'wrap', 'hash', 'store')),
	added_at BIGINT NOT NULL    -- Unix seconds: first seen by this store
);
INSERT INTO key_ids_new(id, kind, added_at)
	SELECT id, kind, added_at FROM key_ids;
DROP TABLE key_ids;
ALTER TABLE key_ids_new RENAME TO key_ids;
CREATE UNIQUE INDEX key_ids_one_store ON key_ids(kind) WHERE kind = 'store';
