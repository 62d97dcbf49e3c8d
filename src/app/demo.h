/*
 * demo.h — `cmr demo`: a small living world in which every feature so far
 * has something to show: persons with profiles and global terms, brands
 * with keys, proposals accepted on the person's terms (and one pending),
 * messages delivered, held and refused for each kind of reason, and signed
 * ledger heads.
 */
#ifndef CMR_APP_DEMO_H
#define CMR_APP_DEMO_H

#include <stdio.h>

#include "app/app.h"

/* Loads the demo world into an empty store and writes what a visitor
 * needs (handles, passwords, brand keys) to out. APP_CONFLICT when the
 * store already has persons. */
enum app_status demo_load(struct app *a, FILE *out, struct app_error *err);

#endif
