/*
 * demo.c — the demo world (see demo.h). Everything goes through the same
 * use cases the API and the CLI use; nothing is written behind their back.
 */
#include "app/demo.h"

#include <string.h>

#include "app/brand.h"
#include "app/delivery.h"
#include "app/inbox.h"
#include "app/intake.h"
#include "app/ledger.h"
#include "app/message.h"
#include "app/person.h"
#include "app/own_address.h"
#include "app/person_made.h"
#include "app/relationship.h"
#include "base/domain.h"
#include "base/mailmsg.h"
#include "core/id.h"
#include "store/store.h"

static int demo_has_person(const struct store_person *p, void *arg)
{
	(void)p;
	*(bool *)arg = true;
	return 1;
}

struct demo_brand {
	const char *name;
	const char *domain;
	struct brand_controller ctl;
	uint64_t id;
	char key[BRAND_KEY_SIZE];
};

struct demo_person {
	const char *handle;
	const char *password;
	const char *profile;
	const char *global;
	uint64_t id;
};

static int demo_propose_accept(struct app *a, uint64_t brand, uint64_t person,
			       const char *proposal, const char *terms,
			       uint64_t *rel, char *alias,
			       struct app_error *err)
{
	int kind;
	uint64_t prp;
	json_t *pj = json_loads(proposal, 0, NULL);
	int rc = proposal_create(a, brand, person, pj, &prp, &kind, err);
	json_decref(pj);
	if (rc != APP_OK || terms == NULL)
		return rc;
	struct accepted acc;
	json_t *tj = json_loads(terms, 0, NULL);
	rc = proposal_accept(a, person, prp, tj, &acc, &kind, err);
	json_decref(tj);
	if (rc == APP_OK && rel)
		*rel = acc.relationship;
	if (rc == APP_OK && alias)
		memcpy(alias, acc.alias, sizeof(acc.alias));
	return rc;
}

static int demo_send(struct app *a, uint64_t brand, uint64_t rel,
		     enum channel ch, const char *topic, const char *subject,
		     const char *body, int64_t at_ms, uint64_t *id_out,
		     FILE *out, struct app_error *err)
{
	struct message_in in = {
		.brand = brand,
		.relationship = rel,
		.channel = ch,
		.topic = topic,
		.subject = subject,
		.body = body,
		.body_len = strlen(body),
		.sender_is_brand = true,
		.sender_verified = true,
		.now_ms = at_ms,
	};
	struct message_out mo;
	int rc = message_send(a, &in, &mo, err);
	if (rc == APP_OK) {
		char id[ID_SIZE];
		if (id_out)
			*id_out = mo.id;
		id_encode(ID_MESSAGE, mo.id, id);
		fprintf(out, "  %s %-7s %-22s %s\n", id,
			gate_outcome_name(mo.decision.outcome),
			gate_reasons[mo.decision.reason].wire, subject);
	}
	return rc;
}

/* Mail as an MTA hands it over by LMTP, MIME with a text and an HTML part
 * (the HTML with a remote tracking image and a script, which a reader of
 * it must never load or run) and an attachment; then a leak: mail to the
 * same alias from a sender that is not the brand. */
static const char demo_receipt[] =
	"From: Acme Outdoor <orders@acme.example>\n"
	"To: <%s>\n"
	"Subject: Your receipt for order #1042\n"
	"Date: Wed, 02 Dec 2026 12:30:00 +0000\n"
	"Message-ID: <receipt-1042@acme.example>\n"
	"CMR-Topic: orders\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"mixed-1042\"\n"
	"\n"
	"--mixed-1042\n"
	"Content-Type: multipart/alternative; boundary=\"alt-1042\"\n"
	"\n"
	"--alt-1042\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"Hello Ana,\n"
	"\n"
	"thank you for your order #1042.\n"
	"\n"
	"  Trail shoes, size 39     89.00 EUR\n"
	"  Merino socks (2 pairs)   18.00 EUR\n"
	"  Total                   107.00 EUR\n"
	"\n"
	"Your receipt is attached as a PDF.\n"
	"\n"
	"Acme Outdoor\n"
	"--alt-1042\n"
	"Content-Type: text/html; charset=utf-8\n"
	"\n"
	"<html><head><script>window.__demo = 'ran';</script></head>\n"
	"<body style=\"font-family: sans-serif\">\n"
	"<h1 style=\"color: #2f5d50\">Thank you for your order #1042</h1>\n"
	"<table>\n"
	"<tr><td>Trail shoes, size 39</td><td>89.00 EUR</td></tr>\n"
	"<tr><td>Merino socks (2 pairs)</td><td>18.00 EUR</td></tr>\n"
	"<tr><th>Total</th><th>107.00 EUR</th></tr>\n"
	"</table>\n"
	"<p><a href=\"https://acme.example/orders/1042\">See your "
	"order</a></p>\n"
	"<img src=\"https://track.acme.example/open.gif?m=1042\" width=\"1\" "
	"height=\"1\" alt=\"\">\n"
	"</body></html>\n"
	"--alt-1042--\n"
	"\n"
	"--mixed-1042\n"
	"Content-Type: application/pdf; name=\"receipt-1042.pdf\"\n"
	"Content-Disposition: attachment; filename=\"receipt-1042.pdf\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCn"
	"Ry\n"
	"YWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==\n"
	"--mixed-1042--\n";

static const char demo_leak[] = "From: Prize Draw <win@prize-draw.example>\n"
				"To: <%s>\n"
				"Subject: You have won a 500 EUR voucher!\n"
				"Date: Wed, 02 Dec 2026 13:00:00 +0000\n"
				"Message-ID: <win-77@prize-draw.example>\n"
				"\n"
				"Click here to claim your prize.\n";

/* Mail to the alias of a relationship Ana made herself for a shop not on
 * cmr (Corner Bakery, bakery.example): an order note (direct), its
 * newsletter (List-Unsubscribe: bulk, filed in Later), and a coupon
 * broker writing to the same alias — a leak. */
static const char demo_bakery_direct[] =
	"From: Corner Bakery <orders@bakery.example>\n"
	"To: <%s>\n"
	"Subject: Your birthday cake is ready for pick-up\n"
	"Date: Wed, 02 Dec 2026 14:00:00 +0000\n"
	"Message-ID: <cake-311@bakery.example>\n"
	"\n"
	"Hello Ana,\n"
	"\n"
	"your lemon cake (order 311) is ready. We are open until 18:00.\n"
	"\n"
	"Corner Bakery\n";

static const char demo_bakery_bulk[] =
	"From: Corner Bakery <news@bakery.example>\n"
	"To: <%s>\n"
	"Subject: This week at Corner Bakery: rye is back\n"
	"Date: Wed, 02 Dec 2026 14:30:00 +0000\n"
	"Message-ID: <weekly-49@bakery.example>\n"
	"List-Id: Corner Bakery weekly <weekly.bakery.example>\n"
	"List-Unsubscribe: <https://bakery.example/unsubscribe/49>\n"
	"\n"
	"Dark rye is back on Thursdays, and the cinnamon buns on Sundays.\n";

static const char demo_bakery_leak[] =
	"From: Coupon World <deals@coupon-broker.example>\n"
	"To: <%s>\n"
	"Subject: 50 bakery coupons, just for you\n"
	"Date: Wed, 02 Dec 2026 15:00:00 +0000\n"
	"Message-ID: <c-9912@coupon-broker.example>\n"
	"\n"
	"We got your address from a partner. Click to claim.\n";

/* Mail from someone Ana has no relationship with, to her own address
 * (strangers to Later). */
static const char demo_stranger[] =
	"From: Rosa Mendes <rosa@neighbours.example>\n"
	"To: <%s>\n"
	"Subject: Lost cat on Linden Street\n"
	"Date: Wed, 02 Dec 2026 18:30:00 +0000\n"
	"Message-ID: <cat-1@neighbours.example>\n"
	"\n"
	"Hello, have you seen a grey cat? She answers to Mila.\n";

/* One message handed to intake as the LMTP door hands it over, with row
 * 2 as --trust-envelope judges it: the envelope sender's and the From
 * domains must be the brand's (a brand on cmr), or of one organizational
 * domain (the domains a person named are app/intake.c's to compare). */
static int demo_mail_one(struct app *a, const char *tmpl, const char *alias,
			 const char *sender, const char *what, int64_t at_ms,
			 FILE *out, struct app_error *err)
{
	char data[4096];
	int len = snprintf(data, sizeof(data), tmpl, alias);
	struct mailmsg m;
	if (len < 0 || (size_t)len >= sizeof(data) ||
	    !mailmsg_parse(data, (size_t)len, &m))
		return app_fail(err, APP_FAULT, NULL,
				"the demo's mail does not parse");
	char domain[254], org[DOMAIN_MAX];
	bool enveloped = mailmsg_domain(sender, domain, sizeof(domain));
	uint64_t from = 0, envelope = 0;
	if (intake_brand_of(a, m.from_domain, NULL, &from) != APP_OK ||
	    (enveloped &&
	     intake_brand_of(a, domain, NULL, &envelope) != APP_OK))
		return app_fail(err, APP_FAULT, NULL,
				"the store could not be read");
	if (!enveloped || envelope != from)
		from = 0;
	if (m.from_domain[0] == '\0' ||
	    !domain_org(m.from_domain, org, sizeof(org)))
		org[0] = '\0';
	struct intake_rcpt rcpt = { alias, 0, false };
	struct intake_message im = {
		.sender = sender,
		.rcpts = &rcpt,
		.n_rcpts = 1,
		.data = data,
		.len = (size_t)len,
		.header_len = m.header_len,
		.subject = m.subject,
		.topic = m.topic[0] ? m.topic : NULL,
		.unsubscribe = m.unsubscribe,
		.bulk = m.bulk,
		.from_ok = enveloped && m.from_domain[0] &&
			   (strcmp(domain, m.from_domain) == 0 ||
			    domain_same_org(domain, m.from_domain)),
		.from_domain = m.from_domain,
		.from_org = org,
		.from_brand = from,
		.at_ms = at_ms,
	};
	struct intake_result r;
	if (intake_deliver(a, &im, &r) != APP_OK)
		return app_fail(err, APP_FAULT, NULL,
				"the demo's mail was not taken");
	fprintf(out, "  mail %-16s %-7s %-22s %s\n", what,
		r.outcome == INTAKE_ACCEPTED ? "taken" : "refused",
		r.outcome == INTAKE_ACCEPTED ? "" : "sender_not_brand",
		m.subject);
	return APP_OK;
}

/* The mail comes at an instant of yesterday, Berlin's afternoon: the
 * same outcomes whatever the time of day the demo is made at (Ana's
 * quiet hours would hold it at night). */
static int demo_mail(struct app *a, const char *acme_alias,
		     const char *bakery_alias, const char *own_address,
		     FILE *out, struct app_error *err)
{
	int64_t at =
		app_now_ms() / 86400000 * 86400000 - 86400000 + 13 * 3600000LL;
	struct {
		const char *tmpl, *alias, *sender, *what;
	} mails[] = {
		{ demo_receipt, acme_alias, "bounces@acme.example",
		  "from Acme" },
		{ demo_leak, acme_alias, "win@prize-draw.example",
		  "from a stranger" },
		{ demo_bakery_direct, bakery_alias, "orders@bakery.example",
		  "from the bakery" },
		{ demo_bakery_bulk, bakery_alias, "bounce@news.bakery.example",
		  "from the bakery" },
		{ demo_bakery_leak, bakery_alias, "deals@coupon-broker.example",
		  "from a broker" },
		{ demo_stranger, own_address, "rosa@neighbours.example",
		  "to Ana's address" },
	};
	for (size_t i = 0; i < sizeof(mails) / sizeof(*mails); i++) {
		int rc = demo_mail_one(a, mails[i].tmpl, mails[i].alias,
				       mails[i].sender, mails[i].what,
				       at + (int64_t)i * 1000, out, err);
		if (rc != APP_OK)
			return rc;
	}
	return APP_OK;
}

/* A relationship Ana makes herself for a shop not on cmr, as
 * POST /v1/me/relationships does: Corner Bakery, mailing from
 * bakery.example, its newsletters filed in Later. */
static int demo_person_made(struct app *a, uint64_t person, char *alias,
			    struct app_error *err)
{
	json_t *body = json_loads(
		"{\"brand\":{\"name\":\"Corner Bakery\",\"domains\":"
		"[\"bakery.example\"]},\"terms\":{\"channels\":{\"email\":"
		"{\"allowed\":true}},\"topic_folders\":{\"bulk\":"
		"\"later\"}}}",
		0, NULL);
	struct accepted acc;
	struct app_write w;
	int kind;
	int rc = body ? person_made_create_begin(a, person, body, &acc, &kind,
						 &w, err)
		      : app_fail(err, APP_FAULT, NULL, "out of memory");
	if (rc == APP_OK)
		rc = app_write_run(a, &w, err);
	json_decref(body);
	if (rc == APP_OK)
		memcpy(alias, acc.alias, sizeof(acc.alias));
	return rc;
}

/* Ana's own address at the relay, strangers to Later, as PUT
 * /v1/me/address sets it; its address into `address`. */
static int demo_own_address(struct app *a, uint64_t person, char *address,
			    struct app_error *err)
{
	json_t *body = json_pack("{s:s,s:s}", "local_part", "ana.lima",
				 "strangers", "later");
	json_t *view = NULL;
	struct app_write w;
	int kind;
	int rc = body ? own_address_put_begin(a, person, body, &view, &kind, &w,
					      err)
		      : app_fail(err, APP_FAULT, NULL, "out of memory");
	if (rc == APP_OK)
		rc = app_write_run(a, &w, err);
	json_decref(body);
	const char *got = json_string_value(json_object_get(view, "address"));
	if (rc == APP_OK && got)
		snprintf(address, 160, "%s", got);
	else if (rc == APP_OK)
		rc = app_fail(err, APP_FAULT, NULL, "no own address");
	json_decref(view);
	return rc;
}

enum app_status demo_load(struct app *a, FILE *out, struct app_error *err)
{
	bool any = false;
	if (store_person_list(a->reads, 0, 1, demo_has_person, &any) !=
	    STORE_OK)
		return app_fail(err, APP_FAULT, NULL, "cannot read the store");
	if (any)
		return app_fail(err, APP_CONFLICT, NULL,
				"the store already has persons; the demo "
				"loads into an empty store");

	struct demo_person persons[] = {
		{ "ana", "demo-password-ana",
		  "{\"name\":\"Ana Lima\",\"email\":\"ana@example.org\","
		  "\"phone\":\"+4915100000001\",\"sizes\":\"shoes EU 39\"}",
		  "{\"time_zone\":\"Europe/"
		  "Berlin\",\"do_not_contact\":[\"phone\"],"
		  "\"quiet_hours\":{\"from\":\"22:00\",\"to\":\"07:00\"},"
		  "\"caps\":{\"email\":{\"max\":10,\"per\":\"day\","
		  "\"over_cap\":\"refuse\"}},\"later_retention_days\":30,"
		  "\"refusal\":\"reject\"}",
		  0 },
		{ "ben", "demo-password-ben",
		  "{\"name\":\"Ben Okafor\",\"email\":\"ben@example.net\"}",
		  "{\"time_zone\":\"America/New_York\"}", 0 },
	};
	struct demo_brand brands[] = {
		{ "Acme Outdoor",
		  "acme.example",
		  { "Privacy Team", "privacy@acme.example", "+4930000000",
		    "1 Trail Road, Berlin", "https://acme.example",
		    "https://acme.example/privacy", "DE" },
		  0,
		  "" },
		{ "Lumen Bakery",
		  "lumen-bakery.example",
		  { "Mara Lumen", "hello@lumen-bakery.example", NULL,
		    "4 Oven Street, Lisbon", "https://lumen-bakery.example",
		    "https://lumen-bakery.example/privacy", "PT" },
		  0,
		  "" },
		{ "Daily Ledger News",
		  "dailyledger.example",
		  { "Data Desk", "data@dailyledger.example", NULL, NULL,
		    "https://dailyledger.example", NULL, "US" },
		  0,
		  "" },
		{ "Northwind Books",
		  "northwind-books.example",
		  { "Ines Northwind", "privacy@northwind-books.example", NULL,
		    "9 Quay Lane, Porto", "https://northwind-books.example",
		    "https://northwind-books.example/privacy", "PT" },
		  0,
		  "" },
	};
	int rc;
	for (size_t i = 0; i < sizeof(persons) / sizeof(*persons); i++) {
		struct demo_person *p = &persons[i];
		int kind;
		if ((rc = person_add(a, p->handle, p->password, &p->id, err)))
			return rc;
		json_t *pj = json_loads(p->profile, 0, NULL);
		rc = person_set_profile(a, p->id, pj, err);
		json_decref(pj);
		if (rc)
			return rc;
		json_t *gj = json_loads(p->global, 0, NULL);
		rc = person_set_global_terms(a, p->id, gj, &kind, err);
		json_decref(gj);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < sizeof(brands) / sizeof(*brands); i++) {
		struct demo_brand *b = &brands[i];
		const char *domains[] = { b->domain };
		if ((rc = brand_add(a, b->name, domains, 1, &b->ctl, &b->id,
				    b->key, err)))
			return rc;
	}
	uint64_t ana = persons[0].id, ben = persons[1].id;
	uint64_t acme = brands[0].id, lumen = brands[1].id, news = brands[2].id,
		 books = brands[3].id;
	uint64_t r_acme, r_lumen, r_ben, r_books;
	char acme_alias[sizeof(((struct accepted *)0)->alias)];
	char bakery_alias[sizeof(((struct accepted *)0)->alias)];

	rc = demo_propose_accept(
		a, acme, ana,
		"{\"value\":\"10% off every order\",\"channels\":[\"email\","
		"\"sms\"],\"topics\":[\"orders\",\"offers\",\"events\"],"
		"\"fields\":[\"name\",\"email\",\"sizes\"]}",
		"{\"channels\":{\"email\":{\"allowed\":true,\"cap\":{\"max\":2,"
		"\"per_seconds\":604800},\"over_cap\":\"refuse\"}},"
		"\"topics\":[\"orders\",\"offers\"],\"exempt_topics\":"
		"[\"orders\"],\"topic_folders\":{\"offers\":\"Shopping\"},"
		"\"fields\":[\"name\",\"email\"]}",
		&r_acme, acme_alias, err);
	if (rc)
		return rc;
	rc = demo_propose_accept(
		a, lumen, ana,
		"{\"value\":\"A free pastry on your birthday\",\"channels\":"
		"[\"email\",\"sms\"],\"topics\":\"all\",\"fields\":[\"name\"]}",
		"{\"channels\":{\"email\":{\"allowed\":true,\"cap\":{\"max\":1,"
		"\"per\":\"day\"},\"over_cap\":\"hold\"},\"sms\":{\"allowed\":"
		"true}},\"topics\":\"all\",\"quiet_hours\":{\"from\":\"20:00\","
		"\"to\":\"09:00\"},\"fields\":[\"name\"],\"agreement\":"
		"\"SD-BASE-A\"}",
		&r_lumen, NULL, err);
	if (rc)
		return rc;
	rc = demo_propose_accept(
		a, news, ana,
		"{\"value\":\"A weekly digest, no tracking\",\"channels\":"
		"[\"email\"],\"topics\":[\"digest\"],\"fields\":[]}",
		NULL, NULL, NULL, err);
	if (rc)
		return rc;
	rc = demo_propose_accept(
		a, acme, ben,
		"{\"value\":\"Early access to sales\",\"channels\":[\"email\"],"
		"\"topics\":[\"offers\"],\"fields\":[\"email\"]}",
		"{\"channels\":{\"email\":{\"allowed\":true}},\"fields\":"
		"[\"email\"]}",
		&r_ben, NULL, err);
	if (rc)
		return rc;
	/* Northwind files its mail in a folder of Ana's own (offers in
	 * Later) and holds what is over its weekly cap. */
	rc = demo_propose_accept(
		a, books, ana,
		"{\"value\":\"Early word of new books, members' evenings\","
		"\"channels\":[\"email\"],\"topics\":\"all\",\"fields\":"
		"[\"name\"]}",
		"{\"channels\":{\"email\":{\"allowed\":true,\"cap\":{\"max\":2,"
		"\"per_seconds\":604800},\"over_cap\":\"hold\"}},\"topics\":"
		"\"all\",\"folder\":\"Reading\",\"topic_folders\":{\"offers\":"
		"\"later\"},\"fields\":[\"name\"]}",
		&r_books, NULL, err);
	if (rc)
		return rc;
	if ((rc = demo_person_made(a, ana, bakery_alias, err)))
		return rc;

	/* With a Maildir root, Ana's delivered mail is exported too (the
	 * server writes it once it runs). */
	if (a->cfg.maildir_root[0]) {
		json_t *on = json_pack("{s:b}", "maildir", 1);
		struct app_write w;
		bool type_error;
		char secret[DELIVERY_SECRET_MAX];
		rc = on ? delivery_set_begin(a, ana, persons[0].password, on,
					     &type_error, secret, &w, err)
			: app_fail(err, APP_FAULT, NULL, "out of memory");
		json_decref(on);
		if (rc == APP_OK)
			rc = app_write_run(a, &w, err);
		if (rc)
			return rc;
		fprintf(out, "maildir: ana's mail is exported under %s\n",
			a->cfg.maildir_root);
	}

	/* Messages at fixed instants of yesterday (UTC noon, and a quiet-hours
	 * evening for Ana in Berlin), so the outcomes are the same on every
	 * run. */
	int64_t day =
		app_now_ms() / 86400000 * 86400000 - 86400000; /* yesterday */
	int64_t noon = day + 12 * 3600000LL;
	int64_t evening = day + 21 * 3600000LL; /* 22:00/23:00 in Berlin */
	fprintf(out, "messages:\n");
	struct {
		uint64_t brand, rel;
		enum channel ch;
		const char *topic, *subject;
		int64_t at;
		bool read; /* Ana has read it already */
	} sends[] = {
		{ acme, r_acme, CHANNEL_EMAIL, "orders",
		  "Your order #1042 has shipped", noon, true },
		{ acme, r_acme, CHANNEL_EMAIL, "offers",
		  "Trail shoes, 20% off this week", noon + 1000, false },
		{ acme, r_acme, CHANNEL_EMAIL, "offers",
		  "Last chance: rain jackets", noon + 2000, false },
		{ acme, r_acme, CHANNEL_EMAIL, "offers",
		  "One more offer (over the cap)", noon + 3000, false },
		{ acme, r_acme, CHANNEL_SMS, "offers",
		  "SMS blast (channel not granted)", noon + 4000, false },
		{ acme, r_acme, CHANNEL_EMAIL, "events",
		  "Trail run meetup (topic not wanted)", noon + 5000, false },
		{ acme, r_acme, CHANNEL_EMAIL, NULL,
		  "Newsletter without a topic", noon + 6000, false },
		{ acme, r_acme, CHANNEL_PHONE, "offers",
		  "Call campaign (do not contact)", noon + 7000, false },
		{ lumen, r_lumen, CHANNEL_EMAIL, "birthday",
		  "Happy birthday! A pastry awaits", noon + 8000, false },
		{ lumen, r_lumen, CHANNEL_EMAIL, "news",
		  "New sourdough (held: over the daily cap)", noon + 9000,
		  false },
		{ lumen, r_lumen, CHANNEL_SMS, "news",
		  "Fresh bread at 6 (held: quiet hours)", evening, false },
		{ acme, r_ben, CHANNEL_EMAIL, "offers",
		  "Early access: winter sale", noon + 10000, false },
		{ books, r_books, CHANNEL_EMAIL, "news",
		  "December's new arrivals", noon + 11000, false },
		{ books, r_books, CHANNEL_EMAIL, "offers",
		  "Members' evening: 15% off every book", noon + 12000, false },
		{ books, r_books, CHANNEL_EMAIL, "news",
		  "Staff picks (held: over the weekly cap)", noon + 13000,
		  false },
	};
	for (size_t i = 0; i < sizeof(sends) / sizeof(*sends); i++) {
		uint64_t id;
		if ((rc = demo_send(a, sends[i].brand, sends[i].rel,
				    sends[i].ch, sends[i].topic,
				    sends[i].subject,
				    "Hello from the cmr demo world.",
				    sends[i].at, &id, out, err)))
			return rc;
		if (sends[i].read &&
		    (rc = inbox_update(a, ana, id, 1, NULL, err)))
			return rc;
	}
	char own_address[160];
	if ((rc = demo_own_address(a, ana, own_address, err)))
		return rc;
	if ((rc = demo_mail(a, acme_alias, bakery_alias, own_address, out,
			    err)))
		return rc;

	for (size_t i = 0; i < sizeof(persons) / sizeof(*persons); i++) {
		char *note = NULL;
		if (ledger_sign_head(a, persons[i].id, &note) != APP_OK)
			return app_fail(err, APP_FAULT, NULL,
					"cannot sign a ledger head");
		free(note);
	}

	fprintf(out, "\npersons (handle / password):\n");
	for (size_t i = 0; i < sizeof(persons) / sizeof(*persons); i++) {
		char id[ID_SIZE];
		id_encode(ID_PERSON, persons[i].id, id);
		fprintf(out, "  %-4s %-18s %s\n", persons[i].handle,
			persons[i].password, id);
	}
	fprintf(out, "\nbrands (API key, shown once):\n");
	for (size_t i = 0; i < sizeof(brands) / sizeof(*brands); i++) {
		char id[ID_SIZE];
		id_encode(ID_BRAND, brands[i].id, id);
		fprintf(out, "  %-18s %s %s\n", brands[i].name, id,
			brands[i].key);
	}
	return APP_OK;
}
