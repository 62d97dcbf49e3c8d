-- 010_sealed_names.sql — the personal values the store must find or show
-- (src/store/store.h, struct store_codec): an alias and an own address
-- are kept as their keyed hash (keys_tombstone, src/ledger/keys.h), which
-- lookups and uniqueness use and which is their tombstone after erasure,
-- and sealed with the person's data key where a view shows them, so that
-- destroying the key erases them in every copy of the store.
--
-- relationships.alias, aliases.alias and own_addresses.address hold the
-- hash; the sealed forms go into the columns below (and local_part, which
-- is sealed in place). Rows a store made before this migration hold the
-- values in clear (a clear alias has an '@', a hash never); the store
-- rewrites them after the migrations, before it serves (store_seal_clear,
-- src/app/sealed.c).
ALTER TABLE relationships ADD COLUMN alias_sealed TEXT;
ALTER TABLE own_addresses ADD COLUMN address_sealed TEXT;
-- The handle likewise: persons.handle holds its keyed hash (log-in looks
-- it up, uniqueness holds on it), handle_sealed what the person's views
-- show. An erased person's handle is a tombstone already.
ALTER TABLE persons ADD COLUMN handle_sealed TEXT;
