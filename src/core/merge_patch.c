/*
 * merge_patch.c — RFC 7396 (see merge_patch.h).
 *
 * The result is built as a deep copy of the target with the patch applied
 * to the copy, so a caller's stored document is never changed in place and
 * a half-applied patch (out of memory midway) is never seen: it is freed
 * and NULL returned.
 */
#include "core/merge_patch.h"

/* Applies patch to *target (owned, may be NULL), in place; returns the
 * merged value (owned) or NULL, having freed *target, when out of
 * memory. */
static json_t *merge_into(json_t *target, const json_t *patch)
{
	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (target == NULL)
			return NULL;
	}
	const char *name;
	json_t *value;
	json_object_foreach ((json_t *)patch, name, value) {
		if (json_is_null(value)) {
			json_object_del(target, name);
			continue;
		}
		json_t *member = json_incref(json_object_get(target, name));
		/* The member is shared with target until it is replaced:
		 * take it out first so merging changes only our copy. */
		json_object_del(target, name);
		json_t *merged = merge_into(member, value);
		if (merged == NULL ||
		    json_object_set_new(target, name, merged) != 0) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

json_t *merge_patch_apply(const json_t *target, const json_t *patch)
{
	if (patch == NULL)
		return NULL;
	json_t *copy = target ? json_deep_copy(target) : NULL;
	if (target != NULL && copy == NULL)
		return NULL;
	return merge_into(copy, patch);
}
