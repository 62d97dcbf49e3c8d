-- 001_init.sql — the PostgreSQL store's schema: in one file, the state
-- that SQLite's migrations 001–009 (src/store/schema/NNN_*.sql) arrive
-- at, with the same tables, columns, constraints, indexes and defaults.
-- Keys are compact 64-bit integers (the API ids are an encoding of them);
-- every table of a person's data carries `person` so that a distributed
-- backend can shard on it. Times are Unix seconds unless named *_ms.
--
-- Types as the C side reads them (src/store/sql.h): every integer is a
-- bigint (flags are 0/1 integers, never boolean), bytes are bytea, and
-- text is COLLATE "C", compared byte by byte as SQLite compares it,
-- whatever the database's locale. attempts.sender and attempts.subject
-- are bytea: SQLite declares them TEXT, but they hold sealed bytes
-- (004_sealed.sql), which a text column cannot. schema_migrations is made
-- by the backend itself, not here.

CREATE TABLE persons (
	id            bigint PRIMARY KEY,
	handle        text COLLATE "C" NOT NULL UNIQUE,
	password_hash text COLLATE "C" NOT NULL,
	data_key      bytea,            -- wrapped by the KEK; NULL once erased
	profile       text COLLATE "C", -- sealed JSON object of fields
	global_terms  text COLLATE "C" NOT NULL, -- canonical JSON (terms_to_json)
	folders       text COLLATE "C" NOT NULL DEFAULT '[]', -- own folder names, id 2..
	created_at    bigint NOT NULL,
	erased_at     bigint,
	-- The person's delivery settings: canonical JSON ({"maildir": true}).
	delivery      text COLLATE "C" NOT NULL DEFAULT '{}',
	-- Moved by every job that guards the person (store_person_guard):
	-- a server whose cache of the person is not at the version it left
	-- reads them again.
	gate_version  bigint NOT NULL DEFAULT 0
);

-- Lock-outs that several servers share (app/throttle.c; SQLite, written
-- by one server, keeps them in memory): failed guesses per key, the key
-- a keyed hash of handle, client address or brand (keys_tombstone), so
-- none is stored as such.
CREATE TABLE throttles (
	key          text COLLATE "C" PRIMARY KEY,
	first_at     bigint NOT NULL,   -- Unix seconds: the window's start
	failures     bigint NOT NULL,
	locked_until bigint NOT NULL    -- Unix seconds; 0: not locked out
);

-- Person credentials: bearer tokens for scripts and browser sessions.
-- Only a hash of the secret is kept; the id part of a credential finds
-- the row and the hashes are compared in constant time.
-- Alias tokens: a token a person makes for their password manager, good
-- only for the two alias-creation routes (SimpleLogin's and addy.io's
-- subsets). A row's scope is NULL for an ordinary token or session, or
-- 'aliases'; name is the person's own label for it ("Bitwarden").
CREATE TABLE tokens (
	id           bigint PRIMARY KEY,
	person       bigint NOT NULL REFERENCES persons(id),
	kind         text COLLATE "C" NOT NULL, -- 'token' or 'session'
	secret_hash  bytea NOT NULL,    -- BLAKE2b-256 of the whole credential
	created_at   bigint NOT NULL,
	expires_at   bigint NOT NULL,   -- absolute expiry
	last_used_at bigint NOT NULL,   -- sessions expire when idle from here
	revoked_at   bigint,
	scope        text COLLATE "C",  -- NULL, or 'aliases'
	name         text COLLATE "C"   -- the person's label for it
);
CREATE INDEX tokens_person ON tokens(person);

CREATE TABLE brands (
	id          bigint PRIMARY KEY,
	name        text COLLATE "C" NOT NULL UNIQUE,
	key_hash    bytea NOT NULL,     -- BLAKE2b-256 of the API key
	controller  text COLLATE "C" NOT NULL, -- JSON: contact, email, phone, address,
	                                --  url, policy_url, jurisdiction
	created_at  bigint NOT NULL,
	key_rotated_at bigint NOT NULL
);

CREATE TABLE brand_domains (
	domain text COLLATE "C" PRIMARY KEY, -- lower case; one brand per domain
	brand  bigint NOT NULL REFERENCES brands(id)
);
CREATE INDEX brand_domains_brand ON brand_domains(brand);

CREATE TABLE connect_codes (
	code_hash  bytea PRIMARY KEY,   -- BLAKE2b of the normalised code
	person     bigint NOT NULL REFERENCES persons(id),
	expires_at bigint NOT NULL,
	used_at    bigint
);
CREATE INDEX connect_codes_person ON connect_codes(person);

CREATE TABLE proposals (
	id           bigint PRIMARY KEY,
	person       bigint NOT NULL REFERENCES persons(id),
	brand        bigint NOT NULL REFERENCES brands(id),
	state        text COLLATE "C" NOT NULL, -- pending, accepted, declined, expired
	value        text COLLATE "C" NOT NULL, -- what the brand offers
	ask          text COLLATE "C" NOT NULL, -- JSON: channels, topics, fields
	created_at   bigint NOT NULL,
	expires_at   bigint NOT NULL,
	decided_at   bigint,
	relationship bigint
);
CREATE INDEX proposals_person ON proposals(person, id);
CREATE INDEX proposals_brand ON proposals(brand, id);

-- Relationships a person makes themselves, with a brand that is not on
-- cmr (POST /v1/me/relationships), have no brand and no proposal, but the
-- name and the mail domains the person gave (row 2 of the gate checks the
-- sender against those domains). When the brand joins cmr later and the
-- person accepts its proposal saying "takes_over", the row gets the brand
-- and the proposal and keeps its alias, history and ledger; made_by stays
-- 'person'.
CREATE TABLE relationships (
	id          bigint PRIMARY KEY,
	person      bigint NOT NULL REFERENCES persons(id),
	brand       bigint REFERENCES brands(id),    -- NULL: person-made
	proposal    bigint REFERENCES proposals(id), -- NULL: person-made
	state       bigint NOT NULL,    -- enum rel_state: 0 active, 1 muted, 2 ended
	alias       text COLLATE "C" NOT NULL UNIQUE,
	terms       text COLLATE "C" NOT NULL, -- canonical JSON of the current terms
	terms_version bigint NOT NULL,
	topics      text COLLATE "C" NOT NULL, -- JSON array: the topic table, append-only
	created_at  bigint NOT NULL,
	ended_at    bigint,
	-- The RFC 8058 one-click unsubscribe URI that the brand's verified
	-- mail (row 2 under --auth-id) last carried for this alias; used
	-- once, when the person ends the relationship.
	unsubscribe text COLLATE "C",
	made_by     text COLLATE "C" NOT NULL DEFAULT 'brand', -- 'brand' or 'person'
	brand_name  text COLLATE "C",   -- person-made: the name the person gave
	domains     text COLLATE "C"    -- person-made: JSON array, lower case
);
-- At most one relationship per person × brand that has not ended; NULL
-- brands (person-made) are distinct, so a person may make several.
CREATE UNIQUE INDEX relationships_open ON relationships(person, brand)
	WHERE state <> 2;
CREATE INDEX relationships_brand ON relationships(brand, id);

-- The alias directory: every alias ever issued, for intake and so that no
-- alias is ever reused. After erasure `alias` holds a keyed-hash tombstone.
-- A person's own address at the relay is kept here too, with no
-- relationship (own_addresses below).
CREATE TABLE aliases (
	alias        text COLLATE "C" PRIMARY KEY,
	person       bigint,            -- NULL once a tombstone
	relationship bigint
);

CREATE TABLE terms_versions (
	relationship bigint NOT NULL,
	version      bigint NOT NULL,
	person       bigint NOT NULL,
	terms        text COLLATE "C" NOT NULL,
	at           bigint NOT NULL,
	PRIMARY KEY (relationship, version)
);

CREATE TABLE campaigns (
	id         bigint PRIMARY KEY,
	brand      bigint NOT NULL REFERENCES brands(id),
	channel    bigint NOT NULL,
	topic      text COLLATE "C",
	subject    bytea,              -- text; bytea as attempts.subject, which
	                               -- a message's subject falls back to
	body       bytea,              -- stored once for every recipient
	created_at bigint NOT NULL,
	total      bigint NOT NULL DEFAULT 0,
	accepted   bigint NOT NULL DEFAULT 0
);

-- Brands' reads of a relationship's fields, counted per UTC day; the
-- first read of a day is also a fields.read entry on the ledger.
CREATE TABLE field_reads (
	relationship bigint NOT NULL,
	day          bigint NOT NULL,
	person       bigint NOT NULL,
	reads        bigint NOT NULL,
	PRIMARY KEY (relationship, day)
);

-- Idempotency-Key: a brand's request and the answer it got, kept 24
-- hours, written in the same transaction as the effect.
CREATE TABLE idempotency (
	brand      bigint NOT NULL,
	key        text COLLATE "C" NOT NULL,
	request    bytea NOT NULL,     -- BLAKE2b-256 of method, path and body
	status     bigint NOT NULL,
	response   text COLLATE "C" NOT NULL,
	created_at bigint NOT NULL,
	PRIMARY KEY (brand, key)
);

-- Every message decision, refused ones included. Ids are time-ordered.
-- Message content is sealed with the person's data key
-- (src/ledger/keys.h, keys_seal_bytes): sender, subject, headers and body
-- are sealed bytes, and dedup a hash keyed with that key, so that
-- destroying the key erases them in every copy of the store.
CREATE TABLE attempts (
	id           bigint PRIMARY KEY,
	person       bigint NOT NULL,
	relationship bigint,            -- NULL for unknown aliases
	brand        bigint,
	campaign     bigint,            -- the body is the campaign's
	channel      bigint NOT NULL,
	topic        text COLLATE "C",
	decision     bigint NOT NULL,   -- enum gate_outcome
	reason       bigint NOT NULL,   -- enum gate_reason
	folder       bigint,            -- delivered: folder id
	deliver_at   bigint,            -- held: when it is decided again
	decided_at   bigint,            -- delivered: when (cap windows count it)
	exempt       bigint NOT NULL DEFAULT 0, -- delivered under exempt_cap
	received_at  bigint NOT NULL,
	is_read      bigint NOT NULL DEFAULT 0,
	removed      bigint NOT NULL DEFAULT 0, -- emptied or purged: content
	                                -- gone, row kept while cap windows
	                                -- may still count the delivery
	sender       bytea,             -- mail: the sender as seen (sealed)
	sender_verified bigint NOT NULL DEFAULT 1,
	subject      bytea,             -- sealed
	dedup        bytea,             -- mail: hash of Message-ID and body
	headers      bytea,             -- mail: raw header block
	body         bytea,             -- delivered/held only; NULL if refused
	sealed       bigint NOT NULL DEFAULT 0, -- 1: the content above is sealed
	-- What a brand reads back of its messages (src/core/brand_state.h):
	-- a held message refused when it is decided again reads "accepted"
	-- until the next 00:00 UTC, so the store keeps when that refusal was
	-- made (seconds; NULL for a message refused at once or not refused).
	refused_at   bigint
);
CREATE INDEX attempts_relationship ON attempts(relationship, id);
CREATE INDEX attempts_dedup ON attempts(relationship, dedup)
	WHERE dedup IS NOT NULL;
CREATE INDEX attempts_person_decided ON attempts(person, decided_at)
	WHERE decision = 0;
CREATE INDEX attempts_held ON attempts(deliver_at) WHERE decision = 1;
-- Rows still in clear (a store made before sealing; none here).
CREATE INDEX attempts_plain ON attempts(person, id) WHERE sealed = 0;
-- The person's list of messages, newest first a page at a time.
CREATE INDEX attempts_person_id ON attempts(person, id);
-- A campaign's messages a page at a time (GET
-- /v1/campaigns/{id}/recipients), and its refusals paged and counted
-- (GET /v1/campaigns/{id}) without reading its accepted rows: only
-- refused rows enter the last two indexes. The count is covered by its
-- index (decision included for that).
CREATE INDEX attempts_campaign ON attempts(campaign, id)
	WHERE campaign IS NOT NULL;
CREATE INDEX attempts_campaign_refused ON attempts(campaign, id)
	WHERE campaign IS NOT NULL AND decision = 2;
CREATE INDEX attempts_campaign_refusals
	ON attempts(campaign, reason, refused_at, decision)
	WHERE campaign IS NOT NULL AND decision = 2;

-- A backstop for a path that would refuse a held message without
-- store_attempt_redecide: the refusal still gets its time (the store's
-- clock, the Unix second of the statement), so that it can never read as
-- refused at once.
CREATE FUNCTION attempts_refused_at() RETURNS trigger
	LANGUAGE plpgsql AS $$
BEGIN
	NEW.refused_at := floor(extract(epoch FROM statement_timestamp()))::bigint;
	RETURN NEW;
END;
$$;
CREATE TRIGGER attempts_refused_at BEFORE UPDATE OF decision ON attempts
	FOR EACH ROW
	WHEN (OLD.decision <> 2 AND NEW.decision = 2 AND NEW.refused_at IS NULL)
	EXECUTE FUNCTION attempts_refused_at();

-- The person's ledger: one hash chain per person (src/ledger/chain.h).
CREATE TABLE ledger (
	person       bigint NOT NULL,
	seq          bigint NOT NULL,
	at_ms        bigint NOT NULL,
	actor        text COLLATE "C" NOT NULL,
	type         text COLLATE "C" NOT NULL,
	relationship text COLLATE "C",  -- API id, as hashed
	data         text COLLATE "C" NOT NULL, -- JSON object as hashed (values sealed)
	prev         bytea NOT NULL,    -- 32 bytes
	hash         bytea NOT NULL,    -- 32 bytes
	PRIMARY KEY (person, seq)
);

-- What the scheduler has told a person already (so it tells them once).
CREATE TABLE notices (
	relationship bigint NOT NULL,
	kind         text COLLATE "C" NOT NULL, -- 'expiry'
	about        text COLLATE "C" NOT NULL, -- e.g. the expires_at it warned of
	person       bigint NOT NULL,
	at           bigint NOT NULL,
	PRIMARY KEY (relationship, kind, about)
);

-- The latest signed head handed out for each person's chain, so that
-- `cmr ledger verify` can check the chain still holds what was signed.
CREATE TABLE ledger_heads (
	person    bigint PRIMARY KEY,
	seq       bigint NOT NULL,
	hash      bytea NOT NULL,
	note      text COLLATE "C" NOT NULL, -- the C2SP signed note as served
	signed_at bigint NOT NULL
);

-- What the delivery adapters still have to do, at least once: put a
-- delivered message there (op 0), move it to the folder it is in now
-- (1), remove it (2). `folder` is where the adapter's copy is expected
-- to be now (moves and removals). A row leaves when done; a failure
-- keeps it with a later next_at (backoff) and the last error. The id is
-- given in order of arrival, as SQLite's rowid is.
CREATE TABLE outbox (
	id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, -- in order of arrival
	person     bigint NOT NULL,
	attempt    bigint NOT NULL,
	adapter    bigint NOT NULL,     -- 1 maildir, 2 webhook, 3 unsubscribe, 4 forward
	op         bigint NOT NULL,     -- 0 deliver, 1 move, 2 remove,
	                                -- 3 erase, 4 verify (forward)
	folder     bigint,              -- move/remove: where the copy is
	tries      bigint NOT NULL DEFAULT 0,
	next_at    bigint NOT NULL,
	last_error text COLLATE "C"
);
CREATE INDEX outbox_due ON outbox(next_at, id);
CREATE INDEX outbox_person ON outbox(person);

-- Which keys the store belongs to (src/ledger/keys.h): the id of the
-- key-encryption key that wraps every person's data key, and the id of
-- every signing key that signed its heads and receipts, current and
-- retired. Ids only, never a key: every command compares them with its
-- --keys directory before it reads or writes anything, and refuses
-- another directory's keys (src/app/app.c).
CREATE TABLE key_ids (
	id       text COLLATE "C" PRIMARY KEY, -- 16 lowercase hex digits
	kind     text COLLATE "C" NOT NULL CHECK (kind IN ('kek', 'signing')),
	added_at bigint NOT NULL    -- Unix seconds: first seen by this store
);

-- Replies through the alias: what the person sent to a brand, from their
-- own mailbox (to a reply address, r.<token>@<alias domain>) or from the
-- web app, kept sealed with the person's data key like the mail they
-- receive, sent by the delivery worker through the smarthost (outbox
-- adapter 5, `attempt` = the reply's id) from the alias, stripped of what
-- names the person (src/base/scrub.c).
CREATE TABLE replies (
	id           bigint PRIMARY KEY, -- time-ordered, like attempts
	person       bigint NOT NULL,
	relationship bigint NOT NULL,
	answers      bigint,             -- the attempt it answers
	by_mail      bigint NOT NULL,    -- 1: from the mailbox, 0: the web app
	state        bigint NOT NULL,    -- 0 queued, 1 sent, 2 failed
	recipient    bytea NOT NULL,     -- sealed: the brand's address
	subject      bytea,              -- sealed
	message      bytea NOT NULL,     -- sealed: the message as written
	created_at   bigint NOT NULL,
	sent_at      bigint
);
CREATE INDEX replies_person ON replies(person, id);
CREATE INDEX replies_answers ON replies(answers) WHERE answers IS NOT NULL;

-- A person's own address at the relay (PUT /v1/me/address): one per
-- person, off by default, for mail from senders with no relationship
-- ("strangers"), which lands in Later or is refused as the person
-- chooses, and the sender domains they blocked. The address itself goes
-- into the alias directory (`aliases`, with no relationship), so that one
-- primary key keeps aliases, own addresses and every address ever given
-- out apart. Intake finds the current address here.
CREATE TABLE own_addresses (
	person     bigint PRIMARY KEY REFERENCES persons(id),
	address    text COLLATE "C" NOT NULL UNIQUE, -- local part @ alias domain, lower case
	local_part text COLLATE "C" NOT NULL,
	strangers  bigint NOT NULL,      -- 0: to Later, 1: refused
	blocked    text COLLATE "C" NOT NULL DEFAULT '[]', -- JSON array of domains
	created_at bigint NOT NULL
);
