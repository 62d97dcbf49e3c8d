-- 006_person_made.sql — relationships a person makes themselves, with a
-- brand that is not on cmr (POST /v1/me/relationships): such a row has no
-- brand and no proposal, but the name and the mail domains the person gave
-- (row 2 of the gate checks the sender against those domains). When the
-- brand joins cmr later and the person accepts its proposal saying
-- "takes_over", the row gets the brand and the proposal and keeps its
-- alias, history and ledger; made_by stays 'person'.
--
-- SQLite cannot drop a NOT NULL, so the table is made again (nothing
-- refers to relationships by foreign key).
CREATE TABLE relationships_006 (
	id          BIGINT PRIMARY KEY,
	person      BIGINT NOT NULL REFERENCES persons(id),
	brand       BIGINT REFERENCES brands(id),    -- NULL: person-made
	proposal    BIGINT REFERENCES proposals(id), -- NULL: person-made
	state       INTEGER NOT NULL,   -- enum rel_state: 0 active, 1 muted, 2 ended
	alias       TEXT NOT NULL UNIQUE,
	terms       TEXT NOT NULL,      -- canonical JSON of the current terms
	terms_version INTEGER NOT NULL,
	topics      TEXT NOT NULL,      -- JSON array: the topic table, append-only
	created_at  BIGINT NOT NULL,
	ended_at    BIGINT,
	unsubscribe TEXT,
	made_by     TEXT NOT NULL DEFAULT 'brand', -- 'brand' or 'person'
	brand_name  TEXT,               -- person-made: the name the person gave
	domains     TEXT                -- person-made: JSON array, lower case
);
INSERT INTO relationships_006(id, person, brand, proposal, state, alias,
	terms, terms_version, topics, created_at, ended_at, unsubscribe)
	SELECT id, person, brand, proposal, state, alias, terms, terms_version,
	       topics, created_at, ended_at, unsubscribe FROM relationships;
DROP TABLE relationships;
ALTER TABLE relationships_006 RENAME TO relationships;
-- At most one relationship per person × brand that has not ended; NULL
-- brands (person-made) are distinct, so a person may make several.
CREATE UNIQUE INDEX relationships_open ON relationships(person, brand)
	WHERE state <> 2;
CREATE INDEX relationships_brand ON relationships(brand, id);
