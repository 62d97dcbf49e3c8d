-- The store also records the wrap key its persons' data keys are wrapped
-- under now (kind 'wrap', one row: `cmr keys rotate --wrap` replaces it
-- before it re-wraps, and a data key is stored only under it, see
-- store_key_wrap_fence) and a fingerprint of the hash key (kind 'hash'),
-- so that a keys directory put together from two sets is refused
-- (src/app/app.c).
ALTER TABLE key_ids DROP CONSTRAINT key_ids_kind_check,
	ADD CONSTRAINT key_ids_kind_check
	CHECK (kind IN ('kek', 'signing', 'wrap', 'hash'));
