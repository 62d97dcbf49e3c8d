/*
 * relationship_draft.h — what making a relationship shares, whether the
 * person accepts a brand's proposal (app/relationship.c) or makes one
 * themselves for a brand not on cmr (app/person_made.c). For app/ only:
 * it carries a store row.
 */
#ifndef CMR_APP_RELATIONSHIP_DRAFT_H
#define CMR_APP_RELATIONSHIP_DRAFT_H

#include <jansson.h>

#include "app/app.h"
#include "core/terms.h"
#include "store/store.h"

/* A relationship about to be made, by accepting a proposal or by the
 * person alone: its row (id, person, alias, terms, topics, times; brand,
 * proposal and what is person-made are the caller's to set), the folder
 * names its terms add to the person's table (JSON array, or NULL) and
 * what the ledger says was granted. */
struct relationship_draft {
	struct store_relationship r;
	char *folders;
	json_t *grant;
};

/* Validates terms_json against ask (never more than asked; an omitted
 * "topics" means the topics asked) and drafts the relationship, its alias
 * made from brand_name. APP_INVALID with *err_kind (TERMS_ERR_*) for bad
 * terms, naming the field; APP_FAULT. On APP_OK the caller owns *d
 * (relationship_draft_clear). */
enum app_status relationship_draft(struct app *a, uint64_t person,
				   const struct terms_ask *ask,
				   const json_t *terms_json,
				   const char *brand_name,
				   struct relationship_draft *d, int *err_kind,
				   struct app_error *err);
void relationship_draft_clear(struct relationship_draft *d);

/* What a relationship's terms may grant: its proposal's ask, or the
 * person-made one. APP_OK or APP_FAULT. */
enum app_status relationship_ask(struct app *a,
				 const struct store_relationship *r,
				 struct terms_ask *ask);

/* Adds the folder names of a JSON array to the person's table inside a
 * job (see inbox_folders_intern_tx). */
int relationship_folders_tx(struct store_tx *tx, uint64_t person,
			    const char *json);

#endif
