-- The store's own id (kind 'store', one row, random): the keys directory
-- records the id of the store it serves (its file `store`), and every
-- command refuses a directory that serves another store, since a wrap
-- rotation of one store would destroy the wrap key of the other
-- (src/app/app.c, app_keys_check). Two nodes starting at once record one.
ALTER TABLE key_ids DROP CONSTRAINT key_ids_kind_check,
	ADD CONSTRAINT key_ids_kind_check
	CHECK (kind IN ('kek', 'signing', 'wrap', 'hash', 'store'));
CREATE UNIQUE INDEX key_ids_one_store ON key_ids(kind) WHERE kind = 'store';
