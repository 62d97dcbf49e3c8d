/*
 * merge_patch.h — JSON Merge Patch (RFC 7396) over jansson values: what
 * PATCH /v1/me/terms, /v1/me/relationships/{id}/terms, /v1/me/profile and
 * /v1/me/delivery apply to the stored document before it is validated
 * exactly as a PUT of the result would be.
 *
 * Pure: no I/O, no globals; allocation only for the result.
 */
#ifndef CMR_CORE_MERGE_PATCH_H
#define CMR_CORE_MERGE_PATCH_H

#include <jansson.h>

/* RFC 7396 §2, MergePatch(target, patch): a patch that is not an object
 * replaces the target whole; an object patch sets each of its members on
 * the target (an object, or {} when the target is not one), merging
 * recursively, and a member whose value is null removes that member.
 * `target` may be NULL (absent). Neither argument is changed or kept; the
 * result is a new value the caller owns, sharing nothing with either, or
 * NULL when out of memory. */
json_t *merge_patch_apply(const json_t *target, const json_t *patch);

#endif
