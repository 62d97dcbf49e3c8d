/*
 * api_relationships.c — relationships as each side sees them: the brand
 * its trimmed view (app/view.c), the person everything.
 */
#include "http/api.h"

#include <stdlib.h>

#include "app/view.h"
#include "core/id.h"

static bool api_after(struct http_request *r, int type, uint64_t *after)
{
	const char *a = http_query(r, "after");
	*after = 0;
	if (a && !id_decode((enum id_type)type, a, after)) {
		http_problem(r, 400, "after", "after is an id from a previous "
					      "page");
		return false;
	}
	return true;
}

static int brand_item(const struct store_relationship *rel, void *arg)
{
	struct api_page *pg = arg;
	json_array_append_new(pg->items, view_brand_item(rel));
	pg->n++;
	return 0;
}

void api_relationships_list(struct http_request *r)
{
	uint64_t after;
	int limit = api_limit(r);
	if (limit < 0 || !api_after(r, ID_RELATIONSHIP, &after))
		return;
	struct api_page pg = {json_array(), r->app, limit, 0};
	if (store_relationship_list_brand(r->app->store, r->brand, after,
					  limit + 1, brand_item,
					  &pg) != STORE_OK) {
		json_decref(pg.items);
		http_problem(r, 503, NULL, "the store cannot be read");
		return;
	}
	api_page_reply(r, &pg);
}

struct get_work {
	uint64_t id;
	json_t *view;
	int status;
	struct app_error err;
};

static void get_work_free(void *p)
{
	struct get_work *w = p;
	json_decref(w->view);
	free(w);
}

static void get_work_run(struct http_request *r)
{
	struct get_work *w = r->job;
	w->status = view_brand_relationship(r->app, r->brand, w->id, &w->view,
					    &w->err);
}

static void get_after(struct http_request *r)
{
	struct get_work *w = r->job;
	if (w->status != APP_OK) {
		http_app_error(r, w->status, &w->err, 0);
		return;
	}
	http_json(r, 200, w->view);
	w->view = NULL;
}

void api_relationships_get(struct http_request *r)
{
	uint64_t id;
	if (!api_id(r, 0, ID_RELATIONSHIP, &id))
		return;
	struct get_work *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_problem(r, 503, NULL, "out of memory; try again");
		return;
	}
	w->id = id;
	r->job = w;
	r->job_free = get_work_free;
	http_offload(r, get_work_run, get_after);
}

static int person_item(const struct store_relationship *rel, void *arg)
{
	struct api_page *pg = arg;
	json_array_append_new(pg->items,
			      view_person_relationship(pg->app, rel));
	pg->n++;
	return 0;
}

void api_me_relationships_list(struct http_request *r)
{
	uint64_t after;
	int limit = api_limit(r);
	if (limit < 0 || !api_after(r, ID_RELATIONSHIP, &after))
		return;
	struct api_page pg = {json_array(), r->app, limit, 0};
	if (store_relationship_list_person(r->app->store, r->person, after,
					   limit + 1, person_item,
					   &pg) != STORE_OK) {
		json_decref(pg.items);
		http_problem(r, 503, NULL, "the store cannot be read");
		return;
	}
	api_page_reply(r, &pg);
}
