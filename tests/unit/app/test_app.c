/*
 * test_app.c — the use cases end to end on a temporary store: sign-up
 * rules, sealed profiles, proposals accepted never beyond the ask,
 * messages decided by the gate and recorded, caps that hold across a
 * restart (windows rebuilt from the store), and ledgers that verify.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "app/brand.h"
#include "app/gate_state.h"
#include "app/ledger.h"
#include "app/message.h"
#include "app/person.h"
#include "app/relationship.h"
#include "core/id.h"
#include "store/store.h"

static char dir[] = "/tmp/cmr-test-app-XXXXXX";
static struct config cfg;

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	config_defaults(&cfg);
	snprintf(cfg.store, sizeof(cfg.store), "sqlite:%s/cmr.db", dir);
	snprintf(cfg.keys, sizeof(cfg.keys), "%s/keys", dir);
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void open_app(struct app *a)
{
	char err[256];
	cr_assert_eq(app_open(a, &cfg, true, err, sizeof(err)), APP_OK, "%s",
		     err);
}

static uint64_t add_person(struct app *a, const char *handle)
{
	uint64_t id;
	struct app_error err = { 0 };
	cr_assert_eq(person_add(a, handle, "correct horse battery", &id, &err),
		     APP_OK, "%s", err.message);
	return id;
}

static uint64_t add_brand(struct app *a, const char *name, const char *dom)
{
	uint64_t id;
	char key[BRAND_KEY_SIZE];
	struct app_error err = { 0 };
	const char *domains[] = { dom };
	cr_assert_eq(brand_add(a, name, domains, 1, NULL, &id, key, &err),
		     APP_OK, "%s", err.message);
	uint64_t back;
	cr_assert_eq(brand_authenticate(a, key, &back), APP_OK);
	cr_assert_eq(back, id);
	return id;
}

static uint64_t relate(struct app *a, uint64_t brand, uint64_t person,
		       const char *proposal, const char *terms, int *status)
{
	uint64_t prp;
	int kind;
	struct app_error err = { 0 };
	json_t *pj = json_loads(proposal, 0, NULL);
	cr_assert_eq(proposal_create(a, brand, person, pj, &prp, &kind, &err),
		     APP_OK, "%s", err.message);
	json_decref(pj);
	struct accepted acc = { 0 };
	json_t *tj = json_loads(terms, 0, NULL);
	*status = proposal_accept(a, person, prp, tj, &acc, &kind, &err);
	json_decref(tj);
	return acc.relationship;
}

static struct gate_decision send(struct app *a, uint64_t brand, uint64_t rel,
				 const char *topic, int64_t at_ms)
{
	struct message_in in = { .brand = brand,
				 .relationship = rel,
				 .channel = CHANNEL_EMAIL,
				 .topic = topic,
				 .subject = "s",
				 .body = "b",
				 .body_len = 1,
				 .sender_is_brand = true,
				 .now_ms = at_ms };
	struct message_out out;
	struct app_error err = { 0 };
	cr_assert_eq(message_send(a, &in, &out, &err), APP_OK, "%s",
		     err.message);
	return out.decision;
}

TestSuite(app, .init = setup, .fini = teardown);

Test(app, signup_rules)
{
	struct app a;
	struct app_error err = { 0 };
	uint64_t id;
	open_app(&a);
	cr_assert_eq(person_add(&a, "Ana", "short", &id, &err), APP_INVALID);
	cr_assert(strstr(err.message, "12") != NULL, "%s", err.message);
	cr_assert_eq(person_add(&a, "-ana", "long enough pw", &id, &err),
		     APP_INVALID);
	cr_assert_str_eq(err.field, "handle");
	cr_assert_eq(person_add(&a, "Ana", "long enough pw", &id, &err),
		     APP_OK);
	struct store_person p;
	cr_assert_eq(store_person_get(a.reads, id, NULL, &p), STORE_OK);
	cr_assert_str_eq(p.handle, "ana");
	cr_assert(person_password_verify(p.password_hash, "long enough pw"));
	cr_assert_not(person_password_verify(p.password_hash, "wrong one!"));
	store_person_clear(&p);
	cr_assert_eq(person_add(&a, "ANA", "long enough pw", &id, &err),
		     APP_CONFLICT);
	app_close(&a);
}

Test(app, profile_is_sealed)
{
	struct app a;
	struct app_error err = { 0 };
	open_app(&a);
	uint64_t ana = add_person(&a, "ana");
	json_t *pj = json_pack("{s:s}", "name", "Ana Lima");
	cr_assert_eq(person_set_profile(&a, ana, pj, &err), APP_OK);
	json_decref(pj);
	struct store_person p;
	cr_assert_eq(store_person_get(a.reads, ana, NULL, &p), STORE_OK);
	cr_assert_not_null(p.profile);
	cr_assert_null(strstr(p.profile, "Ana Lima"));
	store_person_clear(&p);
	pj = json_pack("{s:i}", "name", 3);
	cr_assert_eq(person_set_profile(&a, ana, pj, &err), APP_INVALID);
	json_decref(pj);
	app_close(&a);
}

Test(app, never_more_than_asked)
{
	struct app a;
	int kind;
	uint64_t prp, again;
	struct app_error err = { 0 };
	struct accepted acc = { 0 };
	open_app(&a);
	uint64_t ana = add_person(&a, "ana");
	uint64_t acme = add_brand(&a, "Acme", "acme.example");
	json_t *pj = json_loads("{\"value\":\"v\",\"channels\":[\"email\"],"
				"\"topics\":[\"offers\"]}",
				0, NULL);
	json_t *more = json_loads("{\"channels\":{\"sms\":{\"allowed\":true}}}",
				  0, NULL);
	json_t *asked = json_loads(
		"{\"channels\":{\"email\":{\"allowed\":true}}}", 0, NULL);
	cr_assert_eq(proposal_create(&a, acme, ana, pj, &prp, &kind, &err),
		     APP_OK, "%s", err.message);
	cr_assert_eq(proposal_accept(&a, ana, prp, more, &acc, &kind, &err),
		     APP_INVALID);
	/* While it is pending, the brand cannot propose again. */
	cr_assert_eq(proposal_create(&a, acme, ana, pj, &again, &kind, &err),
		     APP_CONFLICT);
	cr_assert_eq(proposal_accept(&a, ana, prp, asked, &acc, &kind, &err),
		     APP_OK, "%s", err.message);
	cr_assert_neq(acc.relationship, 0);
	/* Nor once they are related. */
	cr_assert_eq(proposal_create(&a, acme, ana, pj, &again, &kind, &err),
		     APP_CONFLICT);
	/* Once it has ended, it may. */
	cr_assert_eq(
		relationship_change(&a, ana, acc.relationship, REL_END, &err),
		APP_OK, "%s", err.message);
	cr_assert_eq(proposal_create(&a, acme, ana, pj, &again, &kind, &err),
		     APP_OK, "%s", err.message);
	json_decref(pj);
	json_decref(more);
	json_decref(asked);
	app_close(&a);
}

Test(app, caps_hold_across_restart)
{
	struct app a;
	int st;
	open_app(&a);
	uint64_t ana = add_person(&a, "ana");
	uint64_t acme = add_brand(&a, "Acme", "acme.example");
	uint64_t other = add_brand(&a, "Other", "other.example");
	uint64_t rel = relate(
		&a, acme, ana,
		"{\"value\":\"v\",\"channels\":[\"email\"],\"topics\":"
		"[\"offers\"]}",
		"{\"channels\":{\"email\":{\"allowed\":true,\"cap\":{\"max\":2,"
		"\"per_seconds\":3600}}}}",
		&st);
	cr_assert_eq(st, APP_OK);
	int64_t t = app_now_ms() - 600000; /* ten minutes ago */
	cr_assert_eq(send(&a, acme, rel, "offers", t).outcome, GATE_DELIVER);
	cr_assert_eq(send(&a, acme, rel, "offers", t + 1000).outcome,
		     GATE_DELIVER);
	struct gate_decision d = send(&a, acme, rel, "offers", t + 2000);
	cr_assert_eq(d.reason, GATE_FREQUENCY_CAP);
	/* Another brand cannot send on this relationship: not found. */
	struct message_in in = { .brand = other,
				 .relationship = rel,
				 .channel = CHANNEL_EMAIL,
				 .topic = "offers",
				 .sender_is_brand = true,
				 .now_ms = t + 3000 };
	struct message_out out;
	struct app_error err = { 0 };
	cr_assert_eq(message_send(&a, &in, &out, &err), APP_NOT_FOUND);
	app_close(&a);

	/* After a restart the window is rebuilt from the stored deliveries. */
	open_app(&a);
	d = send(&a, acme, rel, "offers", t + 4000);
	cr_assert_eq(d.outcome, GATE_REFUSE);
	cr_assert_eq(d.reason, GATE_FREQUENCY_CAP);
	/* An hour after the first delivery one fits again. */
	d = send(&a, acme, rel, "offers", t + 3600 * 1000);
	cr_assert_eq(d.outcome, GATE_DELIVER);
	d = send(&a, acme, rel, "nope", t + 3601 * 1000);
	cr_assert_eq(d.reason, GATE_TOPIC_NOT_WANTED);
	app_close(&a);
}

Test(app, ledger_verifies_and_signs)
{
	struct app a;
	int st;
	open_app(&a);
	uint64_t ana = add_person(&a, "ana");
	uint64_t acme = add_brand(&a, "Acme", "acme.example");
	relate(&a, acme, ana,
	       "{\"value\":\"v\",\"channels\":[\"email\"],\"topics\":[\"a\"]}",
	       "{\"channels\":{\"email\":{\"allowed\":true}}}", &st);
	cr_assert_eq(st, APP_OK);
	char *note = NULL;
	cr_assert_eq(ledger_sign_head(&a, ana, &note), APP_OK);
	cr_assert(strstr(note, "cmr ledger relay.localhost/per_") == note, "%s",
		  note);
	cr_assert(strstr(note, "\n2\n") != NULL, "%s", note);
	free(note);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int persons = 0;
	int64_t entries = 0;
	cr_assert_eq(ledger_verify_all(&a, f, &persons, &entries), 0);
	fclose(f);
	free(out);
	cr_assert_eq(persons, 1);
	cr_assert_eq(entries, 2); /* proposal.received, relationship.accepted */
	app_close(&a);
}

/* A process that loaded the keys before a wrap rotation (a `cmr person
 * add` started just before it) cannot store a data key under the wrap key
 * the rotation is about to destroy: the store's record of the current
 * wrap key fences it off. */
Test(app, a_wrap_rotation_fences_off_a_process_with_the_old_keys)
{
	struct app stale, rot, fresh;
	struct app_wrap_rotation r;
	struct app_error e = { 0 };
	char err[1024];
	uint64_t id;

	open_app(&stale);
	add_person(&stale, "ana");
	cr_assert_eq(app_open(&rot, &cfg, APP_OPEN_EXCLUSIVE | APP_OPEN_ALONE,
			      err, sizeof(err)),
		     APP_OK, "%s", err);
	cr_assert_eq(app_keys_rotate_wrap(&rot, false, &r, err, sizeof(err)),
		     APP_OK, "%s", err);
	cr_expect_eq(r.persons, 1);
	cr_expect_eq(r.rewrapped, 1);
	cr_expect_eq(
		person_add(&stale, "lee", "correct horse battery", &id, &e),
		APP_FAULT);
	cr_expect(strstr(e.message, "keys changed") != NULL, "%s", e.message);
	cr_assert_eq(app_keys_rotate_wrap(&rot, true, &r, err, sizeof(err)),
		     APP_OK, "%s", err);
	cr_expect_eq(r.retired, 1);
	app_close(&rot);
	app_close(&stale);
	/* Opened again, the keys are the new ones: every person opens (the
	 * store is checked at open) and a new one is stored. */
	open_app(&fresh);
	add_person(&fresh, "lee");
	app_close(&fresh);
}

/* The gate forgets every relationship it holds of a person whose global
 * terms changed: the first one's id is kept in the person's entry, the
 * next ones in a list it grows (gate_state.c, person_entry_rel); each of
 * six is decided anew. */
Test(app, global_terms_reach_every_loaded_relationship)
{
	struct app a;
	int st, kind;
	uint64_t brands[6], rels[6];
	open_app(&a);
	uint64_t ana = add_person(&a, "ana");
	int64_t t = app_now_ms() - 600000;
	for (int i = 0; i < 6; i++) {
		char name[16], dom[32];
		snprintf(name, sizeof(name), "Brand%d", i);
		snprintf(dom, sizeof(dom), "b%d.example", i);
		brands[i] = add_brand(&a, name, dom);
		rels[i] = relate(
			&a, brands[i], ana,
			"{\"value\":\"v\",\"channels\":[\"email\"],"
			"\"topics\":[\"offers\"]}",
			"{\"channels\":{\"email\":{\"allowed\":true}}}", &st);
		cr_assert_eq(st, APP_OK);
		cr_assert_eq(send(&a, brands[i], rels[i], "offers", t).outcome,
			     GATE_DELIVER);
	}
	size_t held, persons;
	gate_state_held(a.gate, &held, &persons);
	cr_assert_eq(held, 6);
	cr_assert_eq(persons, 1);
	json_t *g = json_loads("{\"do_not_contact\":[\"email\"]}", 0, NULL);
	struct app_error err = { 0 };
	cr_assert_eq(person_set_global_terms(&a, ana, g, &kind, &err), APP_OK,
		     "%s", err.message);
	json_decref(g);
	/* Forgotten with the person: each found by the person's list of
	 * them (one id inline, then a list), or by a walk of every entry
	 * when the list is incomplete. */
	gate_state_held(a.gate, &held, &persons);
	cr_assert_eq(held, 0);
	cr_assert_eq(persons, 0);
	for (int i = 0; i < 6; i++) {
		struct gate_decision d =
			send(&a, brands[i], rels[i], "offers", t + 1000);
		cr_assert_eq(d.reason, GATE_CHANNEL_DO_NOT_CONTACT,
			     "relationship %d: reason %d", i, (int)d.reason);
	}
	app_close(&a);
}
