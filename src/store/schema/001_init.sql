-- 001_init.sql — the first schema of cmr's store.
-- Keys are compact 64-bit integers (the API ids are an encoding of them);
-- every table of a person's data carries `person` so that a distributed
-- backend can shard on it. Times are Unix seconds unless named *_ms.
-- Kept to SQL that PostgreSQL also accepts (BIGINT, TEXT, BYTEA-as-BLOB is
-- mapped by the backend), so the PostgreSQL backend can share it.

CREATE TABLE persons (
	id            BIGINT PRIMARY KEY,
	handle        TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	data_key      BLOB,             -- wrapped by the KEK; NULL once erased
	profile       TEXT,             -- sealed JSON object of fields
	global_terms  TEXT NOT NULL,    -- canonical JSON (terms_to_json)
	folders       TEXT NOT NULL DEFAULT '[]', -- own folder names, id 2..
	created_at    BIGINT NOT NULL,
	erased_at     BIGINT
);

-- Person credentials: bearer tokens for scripts and browser sessions.
-- Only a hash of the secret is kept; the id part of a credential finds
-- the row and the hashes are compared in constant time.
CREATE TABLE tokens (
	id           BIGINT PRIMARY KEY,
	person       BIGINT NOT NULL REFERENCES persons(id),
	kind         TEXT NOT NULL,     -- 'token' or 'session'
	secret_hash  BLOB NOT NULL,     -- BLAKE2b-256 of the whole credential
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,   -- absolute expiry
	last_used_at BIGINT NOT NULL,   -- sessions expire when idle from here
	revoked_at   BIGINT
);
CREATE INDEX tokens_person ON tokens(person);

CREATE TABLE brands (
	id          BIGINT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	key_hash    BLOB NOT NULL,      -- BLAKE2b-256 of the API key
	controller  TEXT NOT NULL,      -- JSON: contact, email, phone, address,
	                                --  url, policy_url, jurisdiction
	created_at  BIGINT NOT NULL,
	key_rotated_at BIGINT NOT NULL
);

CREATE TABLE brand_domains (
	domain TEXT PRIMARY KEY,        -- lower case; one brand per domain
	brand  BIGINT NOT NULL REFERENCES brands(id)
);
CREATE INDEX brand_domains_brand ON brand_domains(brand);

CREATE TABLE connect_codes (
	code_hash  BLOB PRIMARY KEY,    -- BLAKE2b of the normalised code
	person     BIGINT NOT NULL REFERENCES persons(id),
	expires_at BIGINT NOT NULL,
	used_at    BIGINT
);
CREATE INDEX connect_codes_person ON connect_codes(person);

CREATE TABLE proposals (
	id           BIGINT PRIMARY KEY,
	person       BIGINT NOT NULL REFERENCES persons(id),
	brand        BIGINT NOT NULL REFERENCES brands(id),
	state        TEXT NOT NULL,     -- pending, accepted, declined, expired
	value        TEXT NOT NULL,     -- what the brand offers
	ask          TEXT NOT NULL,     -- JSON: channels, topics, fields
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	decided_at   BIGINT,
	relationship BIGINT
);
CREATE INDEX proposals_person ON proposals(person, id);
CREATE INDEX proposals_brand ON proposals(brand, id);

CREATE TABLE relationships (
	id          BIGINT PRIMARY KEY,
	person      BIGINT NOT NULL REFERENCES persons(id),
	brand       BIGINT NOT NULL REFERENCES brands(id),
	proposal    BIGINT NOT NULL REFERENCES proposals(id),
	state       INTEGER NOT NULL,   -- enum rel_state: 0 active, 1 muted, 2 ended
	alias       TEXT NOT NULL UNIQUE,
	terms       TEXT NOT NULL,      -- canonical JSON of the current terms
	terms_version INTEGER NOT NULL,
	topics      TEXT NOT NULL,      -- JSON array: the topic table, append-only
	created_at  BIGINT NOT NULL,
	ended_at    BIGINT
);
-- At most one relationship per person × brand that has not ended.
CREATE UNIQUE INDEX relationships_open ON relationships(person, brand)
	WHERE state <> 2;
CREATE INDEX relationships_brand ON relationships(brand, id);

-- The alias directory: every alias ever issued, for intake and so that no
-- alias is ever reused. After erasure `alias` holds a keyed-hash tombstone.
CREATE TABLE aliases (
	alias        TEXT PRIMARY KEY,
	person       BIGINT,            -- NULL once a tombstone
	relationship BIGINT
);

CREATE TABLE terms_versions (
	relationship BIGINT NOT NULL,
	version      INTEGER NOT NULL,
	person       BIGINT NOT NULL,
	terms        TEXT NOT NULL,
	at           BIGINT NOT NULL,
	PRIMARY KEY (relationship, version)
);

CREATE TABLE campaigns (
	id         BIGINT PRIMARY KEY,
	brand      BIGINT NOT NULL REFERENCES brands(id),
	channel    INTEGER NOT NULL,
	topic      TEXT,
	subject    TEXT,
	body       BLOB,               -- stored once for every recipient
	created_at BIGINT NOT NULL,
	total      INTEGER NOT NULL DEFAULT 0,
	accepted   INTEGER NOT NULL DEFAULT 0
);

-- Brands' reads of a relationship's fields, counted per UTC day; the
-- first read of a day is also a fields.read entry on the ledger.
CREATE TABLE field_reads (
	relationship BIGINT NOT NULL,
	day          BIGINT NOT NULL,
	person       BIGINT NOT NULL,
	reads        BIGINT NOT NULL,
	PRIMARY KEY (relationship, day)
);

-- Idempotency-Key: a brand's request and the answer it got, kept 24
-- hours, written in the same transaction as the effect.
CREATE TABLE idempotency (
	brand      BIGINT NOT NULL,
	key        TEXT NOT NULL,
	request    BLOB NOT NULL,      -- BLAKE2b-256 of method, path and body
	status     INTEGER NOT NULL,
	response   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (brand, key)
);

-- Every message decision, refused ones included. Ids are time-ordered.
CREATE TABLE attempts (
	id           BIGINT PRIMARY KEY,
	person       BIGINT NOT NULL,
	relationship BIGINT,            -- NULL for unknown aliases
	brand        BIGINT,
	campaign     BIGINT,            -- the body is the campaign's
	channel      INTEGER NOT NULL,
	topic        TEXT,
	decision     INTEGER NOT NULL,  -- enum gate_outcome
	reason       INTEGER NOT NULL,  -- enum gate_reason
	folder       INTEGER,           -- delivered: folder id
	deliver_at   BIGINT,            -- held: when it is decided again
	decided_at   BIGINT,            -- delivered: when (cap windows count it)
	exempt       INTEGER NOT NULL DEFAULT 0, -- delivered under exempt_cap
	received_at  BIGINT NOT NULL,
	is_read      INTEGER NOT NULL DEFAULT 0,
	removed      INTEGER NOT NULL DEFAULT 0, -- emptied or purged: content
	                                -- gone, row kept while cap windows
	                                -- may still count the delivery
	sender       TEXT,              -- mail: the sender as seen
	sender_verified INTEGER NOT NULL DEFAULT 1,
	subject      TEXT,
	dedup        BLOB,              -- mail: hash of Message-ID and body
	headers      BLOB,              -- mail: raw header block
	body         BLOB               -- delivered/held only; NULL if refused
);
CREATE INDEX attempts_person ON attempts(person, folder, id);
CREATE INDEX attempts_relationship ON attempts(relationship, id);
CREATE INDEX attempts_dedup ON attempts(relationship, dedup)
	WHERE dedup IS NOT NULL;
CREATE INDEX attempts_person_decided ON attempts(person, decided_at)
	WHERE decision = 0;
CREATE INDEX attempts_held ON attempts(deliver_at) WHERE decision = 1;

-- The person's ledger: one hash chain per person (src/ledger/chain.h).
CREATE TABLE ledger (
	person       BIGINT NOT NULL,
	seq          BIGINT NOT NULL,
	at_ms        BIGINT NOT NULL,
	actor        TEXT NOT NULL,
	type         TEXT NOT NULL,
	relationship TEXT,              -- API id, as hashed
	data         TEXT NOT NULL,     -- JSON object as hashed (values sealed)
	prev         BLOB NOT NULL,     -- 32 bytes
	hash         BLOB NOT NULL,     -- 32 bytes
	PRIMARY KEY (person, seq)
);

-- What the scheduler has told a person already (so it tells them once).
CREATE TABLE notices (
	relationship BIGINT NOT NULL,
	kind         TEXT NOT NULL,     -- 'expiry'
	about        TEXT NOT NULL,     -- e.g. the expires_at it warned of
	person       BIGINT NOT NULL,
	at           BIGINT NOT NULL,
	PRIMARY KEY (relationship, kind, about)
);

-- The latest signed head handed out for each person's chain, so that
-- `cmr ledger verify` can check the chain still holds what was signed.
CREATE TABLE ledger_heads (
	person    BIGINT PRIMARY KEY,
	seq       BIGINT NOT NULL,
	hash      BLOB NOT NULL,
	note      TEXT NOT NULL,       -- the C2SP signed note as served
	signed_at BIGINT NOT NULL
);
