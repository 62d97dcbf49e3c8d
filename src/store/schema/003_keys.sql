-- Which keys the store belongs to (src/ledger/keys.h): the id of the
-- key-encryption key that wraps every person's data key, and the id of
-- every signing key that signed its heads and receipts, current and
-- retired. Ids only, never a key: every command compares them with its
-- --keys directory before it reads or writes anything, and refuses
-- another directory's keys (src/app/app.c).
CREATE TABLE key_ids (
	id       TEXT PRIMARY KEY,  -- 16 lowercase hex digits
	kind     TEXT NOT NULL CHECK (kind IN ('kek', 'signing')),
	added_at BIGINT NOT NULL    -- Unix seconds: first seen by this store
);
