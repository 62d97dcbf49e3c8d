/*
 * delivery_patch.c — PATCH /v1/me/delivery (see delivery.h): a JSON Merge
 * Patch (RFC 7396) of the person's delivery settings in the shape a PUT
 * takes, {"maildir", "webhook": {"url"}|null, "forward": {"address"}|null}.
 * The current settings are read in that shape, the patch is merged, and
 * the result goes through delivery_set_begin exactly as a PUT of it would
 * — the password checked, the shape checked, a URL or address that stays
 * keeping its secret or its verification.
 */
#include "app/delivery.h"

#include "core/merge_patch.h"

/* The current settings as a PUT would give them. */
static json_t *delivery_as_put(const json_t *doc)
{
	json_t *out = json_pack("{s:b}", "maildir",
				json_is_true(json_object_get(doc, "maildir")));
	json_t *url = json_object_get(json_object_get(doc, "webhook"), "url");
	json_t *address =
		json_object_get(json_object_get(doc, "forward"), "address");
	if (out && url &&
	    json_object_set_new(out, "webhook", json_pack("{s:O}", "url", url)))
		goto fail;
	if (out && address &&
	    json_object_set_new(out, "forward",
				json_pack("{s:O}", "address", address)))
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

enum app_status delivery_patch_begin(struct app *a, uint64_t person,
				     const char *password, const json_t *patch,
				     bool *type_error,
				     char new_secret[DELIVERY_SECRET_MAX],
				     struct app_write *w, struct app_error *err)
{
	json_t *doc = NULL;
	new_secret[0] = '\0';
	*type_error = true;
	if (!json_is_object(patch))
		return app_fail(err, APP_INVALID, "",
				"a patch of the delivery settings is an "
				"object");
	json_t *changes = json_deep_copy(patch);
	if (changes == NULL)
		return app_fail(err, APP_FAULT, NULL, "out of memory");
	json_object_del(changes, "password"); /* not a setting */
	*type_error = false;
	int rc = delivery_get(a, person, &doc, err);
	json_t *current = rc == APP_OK ? delivery_as_put(doc) : NULL;
	json_decref(doc);
	json_t *merged = current ? merge_patch_apply(current, changes) : NULL;
	json_decref(current);
	json_decref(changes);
	if (merged == NULL)
		return rc != APP_OK ? rc
				    : app_fail(err, APP_FAULT, NULL,
					       "out of memory");
	rc = delivery_set_begin(a, person, password, merged, type_error,
				new_secret, w, err);
	json_decref(merged);
	return rc;
}
