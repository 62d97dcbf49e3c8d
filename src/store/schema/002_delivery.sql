-- Delivery beyond the store (docs/ARCHITECTURE.md): where a person's delivered
-- messages also go, and the work of the delivery adapters.

-- The person's delivery settings: canonical JSON ({"maildir": true}).
ALTER TABLE persons ADD COLUMN delivery TEXT NOT NULL DEFAULT '{}';

-- What the adapters still have to do, at least once: put a delivered
-- message there (op 0), move it to the folder it is in now (1), remove
-- it (2). `folder` is where the adapter's copy is expected to be now
-- (moves and removals). A row leaves when done; a failure keeps it with
-- a later next_at (backoff) and the last error.
-- The RFC 8058 one-click unsubscribe URI that the brand's verified mail
-- (row 2 under --auth-id) last carried for this alias; used once, when
-- the person ends the relationship.
ALTER TABLE relationships ADD COLUMN unsubscribe TEXT;

CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY, -- in order of arrival
	person     BIGINT NOT NULL,
	attempt    BIGINT NOT NULL,
	adapter    INTEGER NOT NULL,    -- 1 maildir, 2 webhook, 3 unsubscribe, 4 forward
	op         INTEGER NOT NULL,    -- 0 deliver, 1 move, 2 remove,
	                                -- 3 erase, 4 verify (forward)
	folder     INTEGER,             -- move/remove: where the copy is
	tries      INTEGER NOT NULL DEFAULT 0,
	next_at    BIGINT NOT NULL,
	last_error TEXT
);
CREATE INDEX outbox_due ON outbox(next_at, id);
CREATE INDEX outbox_person ON outbox(person);
