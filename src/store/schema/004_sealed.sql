-- Message content sealed with the person's data key (src/ledger/keys.h,
-- keys_seal_bytes): attempts' sender, subject, headers and body are sealed
-- bytes, and dedup a hash keyed with that key, so that destroying the key
-- erases them in every copy of the store (dead rows, WAL, backups).
-- Rows a store made before this migration hold them in clear; the app
-- seals those after the migrations (src/app/sealed.c), in batches,
-- before it serves. A row with nothing to seal is marked here at once.
ALTER TABLE attempts ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
UPDATE attempts SET sealed = 1 WHERE sender IS NULL AND subject IS NULL
	AND headers IS NULL AND body IS NULL AND dedup IS NULL;
CREATE INDEX attempts_plain ON attempts(person, id) WHERE sealed = 0;

-- The person's list of messages, newest first a page at a time: a page
-- must not read and sort every message of the person before it returns
-- fifty (src/store/sqlite_attempt.c). It replaces (person, folder, id),
-- which the list could not use for its order, so that every attempt
-- written (a campaign writes a million) still updates as many indexes;
-- emptying a folder now walks the person's messages, which it may.
DROP INDEX attempts_person;
CREATE INDEX attempts_person_id ON attempts(person, id);
