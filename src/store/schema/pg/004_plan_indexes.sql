-- 004_plan_indexes.sql — SQLite's 011_plan_indexes.sql for PostgreSQL
-- (the reasons are there): the replay of a relationship's deliveries by
-- an index in its order, which a database not yet analyzed planned as a
-- scan of every delivery; and a partial index on exactly the predicate
-- of each scan of store_seal_clear (src/store/sql_codec.c), empty once
-- no row is in clear, so that each scan at start is an index probe.
CREATE INDEX attempts_relationship_decided
	ON attempts(relationship, decided_at, id) WHERE decision = 0;

CREATE INDEX relationships_alias_clear ON relationships(id)
	WHERE alias_sealed IS NULL AND alias LIKE '%@%';
CREATE INDEX aliases_clear ON aliases(alias) WHERE alias LIKE '%@%';
CREATE INDEX own_addresses_clear ON own_addresses(person)
	WHERE address_sealed IS NULL;
CREATE INDEX relationships_unsubscribe_clear ON relationships(id)
	WHERE unsubscribe LIKE '%:%';
CREATE INDEX persons_handle_clear ON persons(id)
	WHERE handle_sealed IS NULL AND erased_at IS NULL;
