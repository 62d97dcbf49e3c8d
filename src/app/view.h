/*
 * view.h — what each side sees of a relationship. The person sees
 * everything; a brand sees the trimmed view of GET /v1/relationships/{id}
 * (src/http/openapi.json): its alias, "active" or "ended" (a muted relationship
 * shows as active), the terms it must respect (channels with its own caps,
 * topics, exempt topics, expiry, agreement — no folders, no quiet hours, no
 * over_cap), and only the granted fields, with `email` read as the alias. A
 * brand's first read of a day is a fields.read entry on the person's ledger,
 * durable before the view is returned; later reads that day are counted.
 */
#ifndef CMR_APP_VIEW_H
#define CMR_APP_VIEW_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"

struct store_relationship;

/* The brand's view of relationship rel (a new object in *out), or
 * APP_NOT_FOUND when it is not the brand's. Blocks on the ledger write of
 * a day's first read — unless !may_block, when it returns
 * APP_WOULD_BLOCK instead so the caller can retry where it may wait. */
enum app_status view_brand_relationship(struct app *a, uint64_t brand,
					uint64_t rel, bool may_block,
					json_t **out, struct app_error *err);

/* As view_brand_relationship; with !may_block and `later`, a day's first
 * read returns APP_WOULD_BLOCK with the view in *out and the read's
 * write in *later: the caller writes it (see struct app_write) and shows
 * the view only once it is durable. */
enum app_status view_brand_relationship_ex(struct app *a, uint64_t brand,
					   uint64_t rel, bool may_block,
					   struct app_write *later,
					   json_t **out, struct app_error *err);

/* The same view as JSON text (a new string the caller frees), served
 * from a cache of rendered views when nothing it shows has changed and the
 * day's first read is on record already. */
enum app_status view_brand_relationship_text(struct app *a, uint64_t brand,
					     uint64_t rel, bool may_block,
					     char **text,
					     struct app_error *err);

/* Writes the reads counted in memory since the last flush (without
 * waiting). The scheduler calls it every second. */
void view_flush_reads(struct app *a);

/* The brand's list item of a relationship (no fields; no read counted). */
json_t *view_brand_item(const struct store_relationship *r);

/* The person's view of a relationship (full terms, state, the brand as
 * view_brand_card shows it, the value it offered), a new object; NULL
 * when the store cannot be read. */
json_t *view_person_relationship(struct app *a,
				 const struct store_relationship *r);

/* What a person's lists say of a brand: {"id","name"} (a new reference;
 * NULL when the store cannot be read). With `seen` (an object the caller
 * owns) the brands of one page are read once each. */
json_t *view_brand_ref(struct app *a, uint64_t brand, json_t *seen);

/* What a person is shown of a brand that proposes or holds a
 * relationship, from `cmr brand add`: {"id","name","domains",
 * "policy_url","contact":{"name","email","phone","address","url"}} (null
 * where the brand gave none). A new object; NULL when the store cannot be
 * read. Brands are shown nothing of this kind about persons. */
json_t *view_brand_card(struct app *a, uint64_t brand);

/* The same card for the brand of a person-made relationship: the name
 * and domains the person gave, "id" null, no controller known. */
json_t *view_person_made_card(const struct store_relationship *r);

/* The person's profile as a JSON object (a new object), opened with
 * their data key. */
enum app_status view_profile(struct app *a, uint64_t person, json_t **out);

#endif
