-- The store also records the wrap key its persons' data keys are wrapped
-- under now (kind 'wrap', one row: `cmr keys rotate --wrap` replaces it
-- before it re-wraps, and a data key is stored only under it, see
-- store_key_wrap_fence) and a fingerprint of the hash key (kind 'hash'),
-- so that a keys directory put together from two sets is refused
-- (src/app/app.c). SQLite cannot change a CHECK: the table is made anew.
CREATE TABLE key_ids_new (
	id       TEXT PRIMARY KEY,  -- 16 lowercase hex digits
	kind     TEXT NOT NULL CHECK (kind IN ('kek', 'signing', 'wrap', 'hash')),
	added_at BIGINT NOT NULL    -- Unix seconds: first seen by this store
);
INSERT INTO key_ids_new(id, kind, added_at)
	SELECT id, kind, added_at FROM key_ids;
DROP TABLE key_ids;
ALTER TABLE key_ids_new RENAME TO key_ids;
