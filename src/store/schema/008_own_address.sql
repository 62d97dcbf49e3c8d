-- 008_own_address.sql — a person's own address at the relay
-- (PUT /v1/me/address): one per person, off by default, for mail from
-- senders with no relationship ("strangers"), which lands in Later or is
-- refused as the person chooses, and the sender domains they blocked.
--
-- The address itself goes into the alias directory (`aliases`, with no
-- relationship), so that one primary key keeps aliases, own addresses
-- and every address ever given out apart: a row there is never given to
-- another person, and stays when the person changes or removes their
-- address (its tombstone). Intake finds the current address here.
CREATE TABLE own_addresses (
	person     BIGINT PRIMARY KEY REFERENCES persons(id),
	address    TEXT NOT NULL UNIQUE, -- local part @ alias domain, lower case
	local_part TEXT NOT NULL,
	strangers  INTEGER NOT NULL,     -- 0: to Later, 1: refused
	blocked    TEXT NOT NULL DEFAULT '[]', -- JSON array of domains
	created_at BIGINT NOT NULL
);
