/*
 * delivery.h — a person's delivery settings (GET/PUT /v1/me/delivery):
 * where delivered messages go besides the store, which is always their
 * home. This wave has the Maildir export (--maildir-root). Changing the
 * settings needs the password again and is a `delivery.changed` ledger
 * entry; turning the Maildir on exports what is already delivered. The
 * adapters themselves run in src/mail/delivery.c, off the outbox.
 */
#ifndef CMR_APP_DELIVERY_H
#define CMR_APP_DELIVERY_H

#include <jansson.h>

#include "app/app.h"

/* {"maildir": bool, "available": {"maildir": bool},
 *  "outbox": {"pending": n, "failing": n, "last_error": str|null}} */
int delivery_get(struct app *a, uint64_t person, json_t **out,
		 struct app_error *err);

/* Checks the password (argon2id: call it off the event loop) and the
 * settings (every key but "password": {"maildir": bool}; an omitted key
 * is off), and fills the write. APP_NOT_FOUND with field "password" for
 * a wrong password; APP_INVALID with *type_error set for a wrong type. */
int delivery_set_begin(struct app *a, uint64_t person, const char *password,
		       const json_t *settings, bool *type_error,
		       struct app_write *w, struct app_error *err);

#endif
