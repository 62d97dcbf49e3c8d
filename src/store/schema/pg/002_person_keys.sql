-- 002_person_keys.sql — the keys of the person's tables lead with
-- `person`, so that the store can be distributed by person (Citus:
-- docs/ARCHITECTURE.md, "Sharding by person"). A distributed table's
-- primary key and every unique constraint must hold its distribution
-- column, and a foreign key between two distributed tables must too; so:
--
-- - each person table's primary key becomes (person, what it was), and
--   the foreign key from relationships to proposals (person, proposal);
-- - what was unique across persons stays unique in a directory table
--   keyed by it, which every write of it goes through in the same
--   transaction: `aliases` for relationships.alias and
--   own_addresses.address (src/store/sql_relationship.c,
--   sql_own_address.c), `handles` (new here) for persons.handle
--   (src/store/sql_person.c);
-- - the ids the API hands out (attempts, relationships, proposals,
--   tokens, replies) and the outbox's are unique as they are made (random
--   or time-ordered 64-bit, or the identity); a plain index on each keeps
--   the reads by id alone, and one on connect_codes(code_hash) the
--   redemption of a code;
-- - an index that the new primary key starts with is dropped.
--
-- Every person table already has `person`, filled since 001; this moves
-- keys only, and an existing store keeps its rows.

ALTER TABLE relationships DROP CONSTRAINT relationships_proposal_fkey;

ALTER TABLE tokens DROP CONSTRAINT tokens_pkey,
	ADD PRIMARY KEY (person, id);
DROP INDEX tokens_person;
CREATE INDEX tokens_id ON tokens(id);

ALTER TABLE connect_codes DROP CONSTRAINT connect_codes_pkey,
	ADD PRIMARY KEY (person, code_hash);
DROP INDEX connect_codes_person;
CREATE INDEX connect_codes_code ON connect_codes(code_hash);

ALTER TABLE proposals DROP CONSTRAINT proposals_pkey,
	ADD PRIMARY KEY (person, id);
DROP INDEX proposals_person;
CREATE INDEX proposals_id ON proposals(id);

ALTER TABLE relationships DROP CONSTRAINT relationships_pkey,
	DROP CONSTRAINT relationships_alias_key,
	ADD PRIMARY KEY (person, id),
	ADD CONSTRAINT relationships_proposal_fkey
		FOREIGN KEY (person, proposal) REFERENCES proposals(person, id);
CREATE INDEX relationships_id ON relationships(id);
CREATE INDEX relationships_alias ON relationships(alias);

ALTER TABLE terms_versions DROP CONSTRAINT terms_versions_pkey,
	ADD PRIMARY KEY (person, relationship, version);

ALTER TABLE field_reads DROP CONSTRAINT field_reads_pkey,
	ADD PRIMARY KEY (person, relationship, day);

ALTER TABLE attempts DROP CONSTRAINT attempts_pkey,
	ADD PRIMARY KEY (person, id);
DROP INDEX attempts_person_id;
CREATE INDEX attempts_id ON attempts(id);

ALTER TABLE notices DROP CONSTRAINT notices_pkey,
	ADD PRIMARY KEY (person, relationship, kind, about);

ALTER TABLE outbox DROP CONSTRAINT outbox_pkey,
	ADD PRIMARY KEY (person, id);
DROP INDEX outbox_person;
CREATE INDEX outbox_id ON outbox(id);

ALTER TABLE replies DROP CONSTRAINT replies_pkey,
	ADD PRIMARY KEY (person, id);
DROP INDEX replies_person;
CREATE INDEX replies_id ON replies(id);

ALTER TABLE own_addresses DROP CONSTRAINT own_addresses_address_key;
CREATE INDEX own_addresses_address ON own_addresses(address);

-- The handle directory: every handle in use, and an erased person's
-- tombstone in its place (person NULL), as persons.handle holds them.
-- Login still reads persons by handle (persons_handle).
CREATE TABLE handles (
	handle text COLLATE "C" PRIMARY KEY,
	person bigint                   -- NULL once a tombstone
);
INSERT INTO handles(handle, person)
	SELECT handle, CASE WHEN erased_at IS NULL THEN id END FROM persons;
ALTER TABLE persons DROP CONSTRAINT persons_handle_key;
CREATE INDEX persons_handle ON persons(handle);
