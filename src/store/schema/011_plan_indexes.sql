-- 011_plan_indexes.sql — indexes that keep two queries from reading a
-- whole table, whatever the planner knows of the data.
--
-- The replay of a relationship's deliveries, from which its cap windows
-- are rebuilt (q_delivery_rel and q_delivery_many in
-- src/store/sql_attempt.c: `relationship = ? AND decision = 0 AND
-- decided_at >= ? ORDER BY decided_at, id`), as attempts_person_decided
-- serves a person's: in the query's order, so nothing is sorted. Without
-- it, a PostgreSQL database not yet analyzed took attempts for empty and
-- scanned attempts_person_decided by decided_at alone, reading every
-- delivery of the store for each relationship loaded.
CREATE INDEX attempts_relationship_decided
	ON attempts(relationship, decided_at, id) WHERE decision = 0;

-- The rows an older version kept in clear, which the store rewrites at
-- every start (store_seal_clear, src/store/sql_codec.c): one partial
-- index on exactly the predicate of each of its scans, so that on a
-- store that has none (every store once it has run this version) each
-- scan reads an empty index instead of the whole table, and a sealed row
-- written costs only the test of the predicate.
CREATE INDEX relationships_alias_clear ON relationships(id)
	WHERE alias_sealed IS NULL AND alias LIKE '%@%';
CREATE INDEX aliases_clear ON aliases(alias) WHERE alias LIKE '%@%';
CREATE INDEX own_addresses_clear ON own_addresses(person)
	WHERE address_sealed IS NULL;
CREATE INDEX relationships_unsubscribe_clear ON relationships(id)
	WHERE unsubscribe LIKE '%:%';
CREATE INDEX persons_handle_clear ON persons(id)
	WHERE handle_sealed IS NULL AND erased_at IS NULL;
