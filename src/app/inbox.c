/*
 * inbox.c — reading and filing (see inbox.h).
 */
#include "app/inbox.h"

#include <stdlib.h>
#include <string.h>

#include "core/terms.h"

/* The person's folder table: inbox, later, then their own. */
static int inbox_folders(struct app *a, uint64_t person, struct folder_table *f)
{
	struct store_person p;
	if (store_person_by_id(a->store, person, &p) != STORE_OK)
		return APP_FAULT;
	folder_table_init(f);
	json_t *own = json_loads(p.folders, 0, NULL);
	store_person_clear(&p);
	size_t i;
	json_t *v;
	json_array_foreach (own, i, v) {
		if (json_is_string(v))
			folder_table_intern(f, json_string_value(v));
	}
	json_decref(own);
	return APP_OK;
}

static int inbox_folder_find(const struct folder_table *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return i;
	return -1;
}

struct update_job {
	uint64_t person, message;
	int read, folder;
	char *folders; /* the new folder list, when one was added */
};

static int update_run(struct store_tx *tx, void *arg)
{
	struct update_job *j = arg;
	int rc = store_attempt_update(tx, j->person, j->message, j->read,
				      j->folder);
	if (rc == STORE_OK && j->folders)
		rc = store_person_set_folders(tx, j->person, j->folders);
	return rc;
}

int inbox_update(struct app *a, uint64_t person, uint64_t message, int read,
		 const char *folder, struct app_error *err)
{
	struct update_job j = { person, message, read, -1, NULL };
	struct folder_table *f = NULL;
	if (folder) {
		if (!terms_folder_name_ok(folder) &&
		    strcmp(folder, "inbox") != 0 &&
		    strcmp(folder, "later") != 0)
			return app_fail(err, APP_INVALID, "folder",
					"a folder name is 1 to 64 of "
					"[A-Za-z0-9 _-]");
		f = malloc(sizeof(*f));
		if (f == NULL || inbox_folders(a, person, f) != APP_OK) {
			free(f);
			return app_fail(err, APP_FAULT, NULL,
					"the store cannot be read");
		}
		int n = f->n;
		j.folder = folder_table_intern(f, folder);
		if (j.folder < 0) {
			free(f);
			return app_fail(err, APP_INVALID, "folder",
					"too many folders");
		}
		if (f->n > n) {
			json_t *own = json_array();
			for (int i = 2; i < f->n; i++)
				json_array_append_new(own,
						      json_string(f->names[i]));
			j.folders = json_dumps(own, JSON_COMPACT);
			json_decref(own);
		}
		free(f);
	}
	int rc = store_write(a->store, update_run, &j);
	free(j.folders);
	if (rc == STORE_NOT_FOUND)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such message");
	if (rc == STORE_CONFLICT)
		return app_fail(err, APP_CONFLICT, "folder",
				"only delivered messages can be moved");
	if (rc != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the change could not be recorded");
	return APP_OK;
}

struct empty_job {
	uint64_t person;
	int folder;
	int64_t n;
};

static int empty_run(struct store_tx *tx, void *arg)
{
	struct empty_job *j = arg;
	return store_folder_empty(tx, j->person, j->folder, &j->n);
}

int inbox_empty(struct app *a, uint64_t person, const char *folder, int64_t *n,
		struct app_error *err)
{
	struct folder_table *f = malloc(sizeof(*f));
	if (f == NULL || inbox_folders(a, person, f) != APP_OK) {
		free(f);
		return app_fail(err, APP_FAULT, NULL,
				"the store cannot be read");
	}
	int id = inbox_folder_find(f, folder);
	free(f);
	if (id < 0)
		return app_fail(err, APP_NOT_FOUND, NULL, "no such folder");
	struct empty_job j = { person, id, 0 };
	if (store_write(a->store, empty_run, &j) != STORE_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the folder could not be emptied");
	*n = j.n;
	return APP_OK;
}
