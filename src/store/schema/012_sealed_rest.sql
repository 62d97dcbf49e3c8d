-- 012_sealed_rest.sql — the person's last values kept in clear, sealed
-- with their data key as 010_sealed_names.sql sealed the names (src/store/
-- store.h, struct store_codec): the name and the mail domains of a brand
-- the person named themselves (a person-made relationship), the sender
-- domains they blocked at their own address, and the name they gave an
-- API token. None is looked up by SQL (a sender's domain is matched to
-- them in C, app/intake.c and app/own_address.c), so each is only sealed.
--
-- The clear columns stay for rows a store made before this migration:
-- relationships.brand_name and domains, tokens.name (NULL once sealed) and
-- own_addresses.blocked ('[]' once sealed, as it is NOT NULL: a longer
-- value is a list in clear). The store
-- rewrites those rows after the migrations, before it serves
-- (store_seal_clear, src/store/sql_codec.c), finding them through the
-- partial indexes below, which stay empty afterwards.
ALTER TABLE relationships ADD COLUMN brand_name_sealed TEXT;
ALTER TABLE relationships ADD COLUMN domains_sealed TEXT;
ALTER TABLE own_addresses ADD COLUMN blocked_sealed TEXT;
ALTER TABLE tokens ADD COLUMN name_sealed TEXT;
CREATE INDEX relationships_made_clear ON relationships(id)
	WHERE brand_name IS NOT NULL OR domains IS NOT NULL;
CREATE INDEX own_addresses_blocked_clear ON own_addresses(person)
	WHERE blocked_sealed IS NULL AND length(blocked) > 2;
CREATE INDEX tokens_name_clear ON tokens(id)
	WHERE name_sealed IS NULL AND name IS NOT NULL;
