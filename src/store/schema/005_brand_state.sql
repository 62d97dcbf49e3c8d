-- What a brand reads back of its messages (src/core/brand_state.h): a
-- held message refused when it is decided again reads "accepted" until
-- the next 00:00 UTC, so the store keeps when that refusal was made
-- (seconds; NULL for a message refused at once or not refused). It is
-- set by the one write of re-decisions (src/store/sqlite_attempt.c).
ALTER TABLE attempts ADD COLUMN refused_at BIGINT;

-- A campaign's messages a page at a time (GET
-- /v1/campaigns/{id}/recipients), and its refusals paged and counted
-- (GET /v1/campaigns/{id}) without reading its accepted rows: only
-- refused rows enter the last two indexes, so a campaign's insert of a
-- million deliveries pays one more index, not three. The count is
-- covered by its index (decision included for that).
CREATE INDEX attempts_campaign ON attempts(campaign, id)
	WHERE campaign IS NOT NULL;
CREATE INDEX attempts_campaign_refused ON attempts(campaign, id)
	WHERE campaign IS NOT NULL AND decision = 2;
CREATE INDEX attempts_campaign_refusals
	ON attempts(campaign, reason, refused_at, decision)
	WHERE campaign IS NOT NULL AND decision = 2;

-- A backstop for a path that would refuse a held message without
-- store_attempt_redecide: the refusal still gets its time (the store's
-- clock), so that it can never read as refused at once.
CREATE TRIGGER attempts_refused_at AFTER UPDATE OF decision ON attempts
	WHEN OLD.decision <> 2 AND NEW.decision = 2 AND NEW.refused_at IS NULL
BEGIN
	UPDATE attempts SET refused_at = CAST(strftime('%s', 'now') AS INTEGER)
		WHERE id = NEW.id;
END;
