-- 007_replies.sql — replies through the alias: what the person sent to a
-- brand, from their own mailbox (to a reply address, r.<token>@<alias
-- domain>) or from the web app, kept sealed with the person's data key
-- like the mail they receive, sent by the delivery worker through the
-- smarthost (outbox adapter 5, `attempt` = the reply's id) from the
-- alias, stripped of what names the person (src/base/scrub.c).
CREATE TABLE replies (
	id           BIGINT PRIMARY KEY, -- time-ordered, like attempts
	person       BIGINT NOT NULL,
	relationship BIGINT NOT NULL,
	answers      BIGINT,             -- the attempt it answers
	by_mail      INTEGER NOT NULL,   -- 1: from the mailbox, 0: the web app
	state        INTEGER NOT NULL,   -- 0 queued, 1 sent, 2 failed
	recipient    BLOB NOT NULL,      -- sealed: the brand's address
	subject      BLOB,               -- sealed
	message      BLOB NOT NULL,      -- sealed: the message as written
	created_at   BIGINT NOT NULL,
	sent_at      BIGINT
);
CREATE INDEX replies_person ON replies(person, id);
CREATE INDEX replies_answers ON replies(answers) WHERE answers IS NOT NULL;
