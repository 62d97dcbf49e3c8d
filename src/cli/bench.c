/*
 * bench.c — `cmr bench gate --json`: the gate's rate on the workload of
 * docs/PERFORMANCE.md — at least a million relationships in memory with varied
 * terms (rolling and calendar caps, hold or refuse, exempt topics, quiet
 * hours, several time zones), messages in random order with mixed
 * outcomes, on one core. Each decision that delivers is recorded in its
 * windows, as the writer does, so caps fill up and outcomes stay mixed.
 * One JSON object per result: {"bench","value","unit",…parameters}.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>

#include "app/brand.h"
#include "app/campaign.h"
#include "app/person.h"
#include "app/relationship.h"
#include "app/view.h"
#include "core/id.h"
#include "http/server.h"
#include "app/zone.h"
#include "core/gate.h"
#include "mail/lmtp.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>

static const struct cli_flag bench_flags[] = {
	{ "relationships", true, false, "relationships in memory [1000000]" },
	{ "decisions", true, false, "decisions to time [20000000]" },
	{ "seed", true, false, "random seed [1]" },
	{ "seconds", true, false, "http: seconds per wrk run [10]" },
	{ "messages", true, false, "lmtp: messages to send [20000]" },
	{ "sessions", true, false, "lmtp: concurrent sessions [8]" },
	{ "size", true, false, "lmtp: bytes a message [10240]" },
	{ "json", false, false, "print JSON (the default)" },
	{ 0 },
};
static const char bench_usage[] =
	"cmr bench gate [--relationships N] [--decisions M] [--seed S] "
	"[--json]\n"
	"       cmr bench campaign [--relationships N] [--json]\n"
	"       cmr bench lmtp [--messages N] [--sessions S] [--size B] "
	"[--json]\n"
	"       cmr bench http [--seconds S] [--json]\n"
	"(campaign, lmtp, http: on SQLite in a temporary folder, or with\n"
	" --store postgresql://… on that database, which must be empty)";

static uint64_t bench_rng(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

struct bench_rel {
	struct terms_compiled terms;
	struct window win[2]; /* email, sms: the channels the stream uses */
	struct window exempt;
	uint32_t person;
	uint16_t held;
	uint8_t state;
};

struct bench_person {
	struct global_compiled global;
	const struct tz *tz;
	struct window win[2];
};

static void bench_cap(uint64_t *rng, struct cap *c)
{
	uint64_t r = bench_rng(rng);
	switch (r % 5) {
	case 0:
		c->unit = CAP_NONE;
		break;
	case 1:
	case 2:
		c->unit = CAP_ROLLING;
		c->max = (uint16_t)(1 + (r >> 8) % 5);
		c->per_seconds = (uint32_t)(3600 * (1 + (r >> 16) % 48));
		break;
	case 3:
		c->unit = CAP_DAY;
		c->max = (uint16_t)(1 + (r >> 8) % 3);
		break;
	default:
		c->unit = (r >> 8) & 1 ? CAP_WEEK : CAP_MONTH;
		c->max = (uint16_t)(2 + (r >> 12) % 8);
		break;
	}
}

static long bench_number(const char *s, long def, long min, long max)
{
	if (s == NULL)
		return def;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

static int bench_gate(const struct cli_args *args)
{
	long n_rel = bench_number(cli_value(args, bench_flags, "relationships"),
				  1000000, 1, 50000000);
	long n_dec = bench_number(cli_value(args, bench_flags, "decisions"),
				  20000000, 1, 2000000000);
	long seed = bench_number(cli_value(args, bench_flags, "seed"), 1, 1,
				 1L << 62);
	if (n_rel < 0 || n_dec < 0 || seed < 0) {
		fprintf(stderr, "cmr: bench gate: --relationships 1..50000000, "
				"--decisions 1..2000000000, --seed ≥ 1\n");
		return CLI_USAGE;
	}
	struct zones *zones = zones_new();
	const char *zone_names[] = { "Europe/Berlin", "America/New_York",
				     "Asia/Tokyo", "UTC" };
	const struct tz *tzs[4];
	for (int i = 0; i < 4; i++) {
		tzs[i] = zones_get(zones, zone_names[i], NULL, 0);
		if (tzs[i] == NULL)
			tzs[i] = zones_get(zones, "UTC", NULL, 0);
	}
	long n_person = n_rel / 4 + 1;
	struct bench_rel *rels = calloc((size_t)n_rel, sizeof(*rels));
	struct bench_person *persons =
		calloc((size_t)n_person, sizeof(*persons));
	if (rels == NULL || persons == NULL) {
		fprintf(stderr, "cmr: bench gate: out of memory\n");
		return CLI_FAIL;
	}
	uint64_t rng = (uint64_t)seed * 0x9e3779b97f4a7c15ULL | 1;
	for (long i = 0; i < n_person; i++) {
		struct bench_person *p = &persons[i];
		uint64_t r = bench_rng(&rng);
		p->tz = tzs[r % 4];
		if ((r >> 4) % 4 == 0) {
			p->global.cap[CHANNEL_EMAIL] =
				(struct cap){ .unit = CAP_DAY, .max = 6 };
			p->global.hold = (r >> 8) & 1 ? 1u : 0;
		}
		if ((r >> 12) % 8 == 0)
			p->global.do_not_contact = 1u << CHANNEL_SMS;
		if ((r >> 16) % 3 == 0)
			p->global.quiet = (struct quiet_hours){ .from = 22 * 60,
								.to = 7 * 60,
								.days = 0x7f,
								.set = 1 };
		for (int c = 0; c < 2; c++)
			window_init(&p->win[c], &p->global.cap[c]);
	}
	for (long i = 0; i < n_rel; i++) {
		struct bench_rel *b = &rels[i];
		struct terms_compiled *t = &b->terms;
		uint64_t r = bench_rng(&rng);
		b->person = (uint32_t)(r % (uint64_t)n_person);
		b->state = (r >> 20) % 20 == 0	 ? REL_ENDED
			   : (r >> 20) % 20 == 1 ? REL_MUTED
						 : REL_ACTIVE;
		t->channels =
			(uint8_t)(1u << CHANNEL_EMAIL |
				  ((r >> 24) & 1 ? 1u << CHANNEL_SMS : 0));
		t->hold = (r >> 25) & 1 ? 1u : 0;
		t->topics_all = (r >> 26) % 4 == 0;
		t->topics = 0x3; /* topics 0 and 1 of 4 */
		t->exempt = (r >> 28) & 1 ? 0x1 : 0;
		t->exempt_cap = (struct cap){ .unit = CAP_DAY, .max = 10 };
		t->expires_at = (r >> 29) % 50 == 0 ? 1 : 0;
		if ((r >> 35) % 4 == 0)
			t->quiet = (struct quiet_hours){ .from = 20 * 60,
							 .to = 8 * 60,
							 .days = 0x1f,
							 .set = 1 };
		for (int c = 0; c < 2; c++) {
			bench_cap(&rng, &t->cap[c]);
			window_init(&b->win[c], &t->cap[c]);
		}
		window_init(&b->exempt, &t->exempt_cap);
	}

	uint64_t outcomes[3] = { 0 }, reasons[GATE_REASON_COUNT] = { 0 };
	cmr_time now = 1795000000; /* 2026-11 */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The stream is drawn LOOKAHEAD decisions ahead so that the
	 * relationship, its person and their windows can be prefetched, as a
	 * writer working through a queued batch can: the gate itself is a few
	 * dozen instructions, and on a million relationships the rest is
	 * waiting for memory. */
	enum { LOOKAHEAD = 16 };
	uint64_t ahead[LOOKAHEAD];
	for (int k = 0; k < LOOKAHEAD; k++)
		ahead[k] = bench_rng(&rng);
	for (long i = 0; i < n_dec; i++) {
		uint64_t r = ahead[i % LOOKAHEAD];
		uint64_t next = ahead[i % LOOKAHEAD] = bench_rng(&rng);
		const struct bench_rel *nb = &rels[next % (uint64_t)n_rel];
		__builtin_prefetch(nb);
		__builtin_prefetch((const char *)nb + 64);
		__builtin_prefetch((const char *)nb + 128);
		const struct bench_rel *mid =
			&rels[ahead[(i + LOOKAHEAD / 2) % LOOKAHEAD] %
			      (uint64_t)n_rel];
		__builtin_prefetch(&persons[mid->person]);
		__builtin_prefetch(mid->win[0].ring);
		__builtin_prefetch(mid->win[1].ring);
		struct bench_rel *b = &rels[r % (uint64_t)n_rel];
		struct bench_person *p = &persons[b->person];
		unsigned ch = (r >> 40) & 1;
		int16_t topic = (int16_t)((r >> 41) % 5) - 1; /* -1..3 */
		if ((i & 63) == 0)
			now += 1 + (cmr_time)((r >> 50) % 120);
		struct gate_input in = {
			.terms = &b->terms,
			.global = &p->global,
			.tz = p->tz,
			.window = &b->win[ch],
			.exempt = &b->exempt,
			.global_window = &p->win[ch],
			.now = now,
			.held = b->held,
			.hold_queue = 100,
			.topic = topic,
			.stage = GATE_STAGE_FULL,
			.channel = (uint8_t)ch,
			.rel_state = b->state,
			.alias_known = true,
			.sender_is_brand = true,
		};
		struct gate_decision d = gate_decide(&in);
		outcomes[d.outcome]++;
		reasons[d.reason]++;
		if (d.outcome == GATE_DELIVER) {
			if (d.exempt) {
				window_record(&b->exempt, &b->terms.exempt_cap,
					      p->tz, now, NULL);
			} else {
				window_record(&b->win[ch], &b->terms.cap[ch],
					      p->tz, now, NULL);
				window_record(&p->win[ch], &p->global.cap[ch],
					      p->tz, now, NULL);
			}
		} else if (d.outcome == GATE_HOLD && b->held < 100) {
			b->held++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double rate = (double)n_dec / secs;

	json_t *o = json_pack("{s:s,s:f,s:s,s:f,s:I,s:I,s:I,s:f,s:i}", "bench",
			      "gate", "value", rate, "unit", "decisions/s",
			      "ns_per_decision", secs * 1e9 / (double)n_dec,
			      "relationships", (json_int_t)n_rel, "persons",
			      (json_int_t)n_person, "decisions",
			      (json_int_t)n_dec, "seconds", secs, "threads", 1);
	json_t *oc = json_object();
	for (int i = 0; i < GATE_OUTCOME_COUNT; i++)
		json_object_set_new(oc, gate_outcomes[i],
				    json_integer((json_int_t)outcomes[i]));
	json_t *rs = json_object();
	for (int i = 0; i < GATE_REASON_COUNT; i++)
		if (reasons[i])
			json_object_set_new(
				rs, gate_reasons[i].wire,
				json_integer((json_int_t)reasons[i]));
	json_object_set_new(o, "outcomes", oc);
	json_object_set_new(o, "reasons", rs);
	cli_print_json(o);
	json_decref(o);

	for (long i = 0; i < n_rel; i++) {
		for (int c = 0; c < 2; c++)
			window_free(&rels[i].win[c]);
		window_free(&rels[i].exempt);
	}
	for (long i = 0; i < n_person; i++)
		for (int c = 0; c < 2; c++)
			window_free(&persons[i].win[c]);
	free(rels);
	free(persons);
	zones_free(zones);
	return CLI_OK;
}

/* ---- bench campaign ---- */

struct bench_fill {
	uint64_t brand, first_person;
	long from, n;
	const char *terms, *topics, *ask;
	const uint8_t *wrapped;
	int64_t now;
};

/* One job makes n persons, each with a proposal accepted into a
 * relationship with the brand, in person order: table by table, many rows
 * a statement where the store has a cost per statement (PostgreSQL). */
static int bench_fill_run(struct store_tx *tx, void *arg)
{
	struct bench_fill *f = arg;
	size_t n = (size_t)f->n;
	struct store_person *ps = calloc(n, sizeof(*ps));
	struct store_proposal *prs = calloc(n, sizeof(*prs));
	struct store_relationship *rs = calloc(n, sizeof(*rs));
	int rc = ps && prs && rs ? STORE_OK : STORE_FAULT;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		struct store_person *p = &ps[i];
		long at = f->from + (long)i;
		p->id = f->first_person + (uint64_t)at;
		snprintf(p->handle, sizeof(p->handle), "bench%ld", at);
		snprintf(p->password_hash, sizeof(p->password_hash), "-");
		memcpy(p->data_key, f->wrapped, KEYS_WRAPPED_BYTES);
		p->data_key_len = KEYS_WRAPPED_BYTES;
		p->global_terms = (char *)(uintptr_t) "{}";
		p->created_at = f->now;
		prs[i] = (struct store_proposal){
			.id = p->id ^ 0x5a5a5a5aULL,
			.person = p->id,
			.brand = f->brand,
			.state = "accepted",
			.value = (char *)(uintptr_t) "bench",
			.ask = (char *)(uintptr_t)f->ask,
			.created_at = f->now,
			.expires_at = f->now + 86400
		};
		rs[i] = (struct store_relationship){
			.id = p->id ^ 0x3c3c3c3cULL,
			.person = p->id,
			.brand = f->brand,
			.proposal = prs[i].id,
			.state = 0,
			.terms = (char *)(uintptr_t)f->terms,
			.terms_version = 1,
			.topics = (char *)(uintptr_t)f->topics,
			.created_at = f->now
		};
		snprintf(rs[i].alias, sizeof(rs[i].alias),
			 "bench.%016llx@relay.localhost",
			 (unsigned long long)rs[i].id);
	}
	if (rc == STORE_OK)
		rc = store_person_insert_many(tx, ps, n);
	if (rc == STORE_OK)
		rc = store_proposal_insert_many(tx, prs, n);
	if (rc == STORE_OK)
		rc = store_relationship_insert_many(tx, rs, n);
	free(ps);
	free(prs);
	free(rs);
	return rc;
}

/* What the figures were measured on. */
static const char *bench_store_name(const char *url)
{
	return strncmp(url, "sqlite:", 7) == 0
		       ? "sqlite (WAL, synchronous=FULL)"
		       : "postgresql (synchronous_commit on)";
}

/* A store of its own, in a temporary folder, with one brand
 * (bench.example) and relationships granting email and every topic, made
 * straight into the store: what `bench campaign` and `bench lmtp` stand
 * on. */
struct bench_world {
	char dir[32];
	struct app a;
	uint64_t brand;
	char *terms;
	uint8_t wrapped[KEYS_WRAPPED_BYTES];
	bool open;
};

/* A bench fills the store it is named (an SQLite one is a file of its
 * own, made afresh), with keys of its own: one that holds data is refused
 * as such, before anything is written. 0, or -1 (said on stderr). */
static int bench_store_empty(const struct config *cfg)
{
	struct store *s;
	struct store_key_facts f;
	char err[1024];
	if (store_open_as(cfg->store, cfg->client, &s, err, sizeof(err)) !=
	    STORE_OK) {
		fprintf(stderr, "cmr: the store %s: %s\n", cfg->store_shown,
			err);
		return -1;
	}
	int rc = store_key_facts(store_reads(s), &f);
	store_close(s);
	if (rc != STORE_OK) {
		fprintf(stderr, "cmr: cannot read the store %s\n",
			cfg->store_shown);
		return -1;
	}
	if (f.has_data || f.kek_id[0]) {
		fprintf(stderr,
			"cmr: the store %s holds data, and `%s` needs an "
			"empty one (it fills it, with keys of its own): give "
			"it a new, empty database (README, PostgreSQL step "
			"1)\n",
			cfg->store_shown, cfg->client);
		return -1;
	}
	return 0;
}

static int bench_world_open(const struct cli_args *args, bool lmtp,
			    struct bench_world *w)
{
	char err[512];
	memset(w, 0, sizeof(*w));
	snprintf(w->dir, sizeof(w->dir), "/tmp/cmr-bench-XXXXXX");
	if (mkdtemp(w->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	struct config cfg = args->cfg;
	/* SQLite: a file of its own. Another store (PostgreSQL) is the one
	 * named, which must be empty: the bench fills it. */
	if (strncmp(cfg.store, "sqlite:", 7) == 0) {
		snprintf(cfg.store, sizeof(cfg.store), "sqlite:%s/cmr.db",
			 w->dir);
		config_url_shown(cfg.store, cfg.store_shown,
				 sizeof(cfg.store_shown));
	} else if (bench_store_empty(&cfg) != 0) {
		return -1;
	}
	snprintf(cfg.keys, sizeof(cfg.keys), "%s/keys", w->dir);
	if (lmtp) { /* what the bench's aliases and senders are */
		snprintf(cfg.alias_domain, sizeof(cfg.alias_domain),
			 "relay.localhost");
		cfg.trust_envelope = true;
		cfg.auth_id[0] = '\0';
	}
	if (app_open(&w->a, &cfg, true, err, sizeof(err)) != APP_OK) {
		fprintf(stderr, "cmr: %s\n", err);
		return -1;
	}
	w->open = true;
	struct app_error aerr = { 0 };
	char key[BRAND_KEY_SIZE];
	const char *domains[] = { "bench.example" };
	uint8_t dk[KEYS_DATA_KEY_BYTES];
	struct terms t;
	terms_default(&t);
	t.channels[CHANNEL_EMAIL].allowed = true;
	t.topics_all = true;
	json_t *tj = terms_to_json(&t);
	w->terms = tj ? json_dumps(tj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(tj);
	if (brand_add(&w->a, "Bench", domains, 1, NULL, &w->brand, key,
		      &aerr) != APP_OK ||
	    keys_new_data_key(dk) != 0 ||
	    keys_wrap(w->a.keys, dk, w->wrapped) != 0 || w->terms == NULL) {
		fprintf(stderr, "cmr: bench: cannot set up the store\n");
		return -1;
	}
	return 0;
}

/* n relationships (and persons), by jobs of 20000. */
static int bench_world_fill(struct bench_world *w, long n)
{
	struct bench_fill f = { w->brand,
				1000000000ULL,
				0,
				0,
				w->terms,
				"[]",
				"{\"channels\":[\"email\"],\"fields\":[],"
				"\"topics\":\"all\"}",
				w->wrapped,
				app_now_ms() / 1000 };
	for (long from = 0; from < n; from += 20000) {
		f.from = from;
		f.n = n - from < 20000 ? n - from : 20000;
		if (store_write(w->a.store, bench_fill_run, &f) != STORE_OK)
			return -1;
	}
	return 0;
}

static void bench_world_close(struct bench_world *w)
{
	if (w->open)
		app_close(&w->a);
	free(w->terms);
	if (w->dir[0] == '\0')
		return;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cmr: could not remove %s\n", w->dir);
}

/* Resident memory of this process, from /proc/self/statm, in bytes,
 * after the allocator has handed back to the system what it holds free
 * (malloc_trim). Without the trim the figure is what an earlier step left
 * freed in the heap: the cold campaign reused what the set-up had freed,
 * so its growth depended on how much the set-up allocated (it "fell" from
 * 221 to 32 bytes a relationship, and went below zero, when sealing made
 * the set-up allocate more) rather than on what the campaign keeps. */
static long bench_rss(void)
{
	long pages = 0, resident = 0;
	malloc_trim(0);
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Bytes the allocator has handed out and not had back (mallinfo2), in
 * every arena: what the process keeps, whatever the heap's holes. -1
 * when the allocator is not glibc's (a sanitizer's says nothing). */
static long bench_heap(void)
{
	struct mallinfo2 m = mallinfo2();
	if (m.arena == 0 && m.hblkhd == 0)
		return -1;
	return (long)(m.uordblks + m.hblkhd);
}

/* CPU seconds (user and system) of this process, every thread: on a
 * shared machine a steadier figure than the wall clock, and on SQLite,
 * which runs in the process, the whole of the work. */
static double bench_cpu(void)
{
	struct rusage u;
	if (getrusage(RUSAGE_SELF, &u) != 0)
		return 0;
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* The wall clock and the CPU at one end of a step. */
static void bench_mark(struct timespec *at, double *cpu)
{
	clock_gettime(CLOCK_MONOTONIC, at);
	*cpu = bench_cpu();
}

static double bench_seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static int bench_campaign(const struct cli_args *args)
{
	long n = bench_number(cli_value(args, bench_flags, "relationships"),
			      1000000, 1, 10000000);
	if (n < 0) {
		fprintf(stderr, "cmr: bench campaign: --relationships "
				"1..10000000\n");
		return CLI_USAGE;
	}
	struct bench_world w;
	struct app_error aerr = { 0 };
	/* Each step's start and end: the set-up, the cold campaign, the
	 * warm one; the wall clock and the process's CPU (bench_cpu). */
	enum { SETUP, COLD, WARM, STEPS };
	struct timespec at[STEPS][2];
	double cpu[STEPS][2];
	/* The writer's statements (round trips on PostgreSQL) at each
	 * step: where the time goes. */
	struct store_writer_stats s0 = { 0 }, s1 = { 0 }, s2 = { 0 },
				  s3 = { 0 };
	int rc = bench_world_open(args, false, &w) == 0 ? APP_OK : APP_FAULT;
	if (rc == APP_OK)
		store_writer_stats(w.a.store, &s0);
	bench_mark(&at[SETUP][0], &cpu[SETUP][0]);
	if (rc == APP_OK && bench_world_fill(&w, n) != 0)
		rc = APP_FAULT;
	bench_mark(&at[SETUP][1], &cpu[SETUP][1]);
	if (rc == APP_OK)
		store_writer_stats(w.a.store, &s1);
	struct campaign_request req = { .brand = w.brand,
					.all = true,
					.channel = CHANNEL_EMAIL,
					.topic = "news",
					.subject = "Hello",
					.body = "A campaign body.",
					.body_len = 16 };
	struct campaign_result res;
	/* Cold: the gate state loads each relationship on first use. Its
	 * memory is read outside the timed steps (bench_rss trims). */
	long rss_before = bench_rss(), heap_before = bench_heap();
	bench_mark(&at[COLD][0], &cpu[COLD][0]);
	if (rc == APP_OK)
		rc = campaign_send(&w.a, &req, &res, &aerr);
	bench_mark(&at[COLD][1], &cpu[COLD][1]);
	long rss_after = bench_rss(), heap_after = bench_heap();
	if (rc == APP_OK)
		store_writer_stats(w.a.store, &s2);
	/* Warm: the same campaign again, state in memory. */
	struct campaign_result res2;
	bench_mark(&at[WARM][0], &cpu[WARM][0]);
	if (rc == APP_OK)
		rc = campaign_send(&w.a, &req, &res2, &aerr);
	bench_mark(&at[WARM][1], &cpu[WARM][1]);
	if (rc == APP_OK)
		store_writer_stats(w.a.store, &s3);
	if (rc != APP_OK) {
		fprintf(stderr, "cmr: bench campaign: %s\n",
			aerr.message[0] ? aerr.message : "failed");
		bench_world_close(&w);
		return CLI_FAIL;
	}
	double warm = bench_seconds(&at[WARM][0], &at[WARM][1]);
	json_t *o = json_pack(
		"{s:s,s:f,s:s,s:I,s:I,s:f,s:f,s:f,s:s,s:f}", "bench",
		"campaign", "value", warm, "unit", "s", "relationships",
		(json_int_t)n, "recipients", (json_int_t)res2.total,
		"cold_seconds", bench_seconds(&at[COLD][0], &at[COLD][1]),
		"setup_seconds", bench_seconds(&at[SETUP][0], &at[SETUP][1]),
		"recipients_per_s", (double)res2.total / warm, "store",
		bench_store_name(w.a.cfg.store), "rss_bytes_per_relationship",
		(double)(rss_after - rss_before) / (double)n);
	json_object_set_new(
		o, "heap_bytes_per_relationship",
		heap_before < 0 || heap_after < 0
			? json_null()
			: json_real((double)(heap_after - heap_before) /
				    (double)n));
	/* CPU seconds of cmr's process at each step: all of the work on
	 * SQLite, the client's share on PostgreSQL. */
	json_object_set_new(o, "setup_cpu_seconds",
			    json_real(cpu[SETUP][1] - cpu[SETUP][0]));
	json_object_set_new(o, "cold_cpu_seconds",
			    json_real(cpu[COLD][1] - cpu[COLD][0]));
	json_object_set_new(o, "cpu_seconds",
			    json_real(cpu[WARM][1] - cpu[WARM][0]));
	/* Statements a recipient (a relationship for the set-up); 0 on
	 * SQLite, which has no round trips to count. */
	json_object_set_new(
		o, "setup_statements_per_relationship",
		json_real((double)(s1.statements - s0.statements) / (double)n));
	json_object_set_new(
		o, "cold_statements_per_recipient",
		json_real((double)(s2.statements - s1.statements) / (double)n));
	json_object_set_new(
		o, "statements_per_recipient",
		json_real((double)(s3.statements - s2.statements) / (double)n));
	cli_print_json(o);
	json_decref(o);
	bench_world_close(&w);
	return CLI_OK;
}

/* ---- bench http ---- */

/* Runs wrk against url for `seconds` and returns its Requests/sec, or a
 * negative number when wrk is missing or failed. */
static double bench_wrk(const char *url, const char *auth, long seconds)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "wrk -t1 -c32 -d%lds %s%s%s '%s' 2>&1",
		 seconds, auth ? "-H 'Authorization: Bearer " : "",
		 auth ? auth : "", auth ? "'" : "", url);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	char line[512];
	double rps = -1;
	long non2xx = 0;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "Requests/sec: %lf", &rps) == 1)
			continue;
		if (sscanf(line, "  Non-2xx or 3xx responses: %ld", &non2xx) ==
		    1)
			continue;
	}
	if (pclose(p) != 0 || non2xx > 0)
		return -1;
	return rps;
}

static int bench_http(const struct cli_args *args)
{
	long seconds = bench_number(cli_value(args, bench_flags, "seconds"), 10,
				    1, 600);
	if (seconds < 0) {
		fprintf(stderr, "cmr: bench http: --seconds 1..600\n");
		return CLI_USAGE;
	}
	char dir[] = "/tmp/cmr-bench-XXXXXX", err[512];
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return CLI_FAIL;
	}
	struct config cfg = args->cfg;
	if (strncmp(cfg.store, "sqlite:", 7) == 0) { /* as bench_world_open */
		snprintf(cfg.store, sizeof(cfg.store), "sqlite:%s/cmr.db", dir);
		config_url_shown(cfg.store, cfg.store_shown,
				 sizeof(cfg.store_shown));
	} else if (bench_store_empty(&cfg) != 0) {
		return CLI_FAIL;
	}
	snprintf(cfg.keys, sizeof(cfg.keys), "%s/keys", dir);
	struct app a;
	if (app_open(&a, &cfg, true, err, sizeof(err)) != APP_OK) {
		fprintf(stderr, "cmr: %s\n", err);
		return CLI_FAIL;
	}
	struct app_error aerr = { 0 };
	uint64_t person = 0, brand = 0, prp = 0;
	char key[BRAND_KEY_SIZE];
	const char *domains[] = { "bench.example" };
	struct accepted acc = { 0 };
	int kind;
	int rc = person_add(&a, "bench", "quiet harbor lantern 42", &person,
			    &aerr);
	json_t *profile = json_pack("{s:s,s:s}", "name", "Bench Person",
				    "email", "bench@example.org");
	if (rc == APP_OK)
		rc = person_set_profile(&a, person, profile, &aerr);
	json_decref(profile);
	if (rc == APP_OK)
		rc = brand_add(&a, "Bench", domains, 1, NULL, &brand, key,
			       &aerr);
	json_t *ask =
		json_pack("{s:s,s:[s],s:[s],s:[s,s]}", "value", "v", "channels",
			  "email", "topics", "news", "fields", "name", "email");
	if (rc == APP_OK)
		rc = proposal_create(&a, brand, person, ask, &prp, &kind,
				     &aerr);
	json_decref(ask);
	json_t *terms = json_pack("{s:{s:{s:b}},s:[s,s]}", "channels", "email",
				  "allowed", 1, "fields", "name", "email");
	if (rc == APP_OK)
		rc = proposal_accept(&a, person, prp, terms, &acc, &kind,
				     &aerr);
	json_decref(terms);
	int fd = -1, port = 0;
	struct listen_addr addr;
	struct http_server *http = NULL;
	if (rc == APP_OK &&
	    (config_parse_listen("127.0.0.1:0", false, false, &addr, err,
				 sizeof(err)) != 0 ||
	     http_listen(&addr, &fd, &port, err, sizeof(err)) != 0 ||
	     http_start(&a, fd, NULL, &http, err, sizeof(err)) != 0)) {
		snprintf(aerr.message, sizeof(aerr.message), "%.200s", err);
		rc = APP_FAULT;
	}
	if (rc != APP_OK) {
		fprintf(stderr, "cmr: bench http: %s\n", aerr.message);
		app_close(&a);
		return CLI_FAIL;
	}
	char rel[ID_SIZE], url[256], health[128];
	id_encode(ID_RELATIONSHIP, acc.relationship, rel);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/relationships/%s",
		 port, rel);
	snprintf(health, sizeof(health), "http://127.0.0.1:%d/healthz", port);
	double h = bench_wrk(health, NULL, seconds);
	double g = bench_wrk(url, key, seconds);
	http_stop(http);
	view_flush_reads(&a);
	app_close(&a);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cmr: could not remove %s\n", dir);
	if (h <= 0 || g <= 0) {
		fprintf(stderr, "cmr: bench http: wrk failed or is missing "
				"(apt-get install wrk)\n");
		return CLI_FAIL;
	}
	json_t *o = json_pack("{s:s,s:f,s:s,s:f,s:f,s:s,s:i}", "bench", "http",
			      "value", g / h, "unit",
			      "ratio of GET /v1/relationships/{id} to "
			      "/healthz",
			      "relationship_rps", g, "healthz_rps", h, "load",
			      "wrk -t1 -c32", "seconds", (int)seconds);
	cli_print_json(o);
	json_decref(o);
	return CLI_OK;
}

/* ---- bench lmtp ---- */

struct lmtp_client {
	int port, n, size, index;
	long delivered;
	char *message; /* the body, shared */
	int fd;
	char buf[4096];
	size_t pos, len;
};

/* Reads one reply line's first three characters; -1 when gone. */
static int lmtp_client_reply(struct lmtp_client *c)
{
	char code[4] = { 0 };
	size_t n = 0;
	for (;;) {
		if (c->pos == c->len) {
			ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
			if (r <= 0)
				return -1;
			c->pos = 0;
			c->len = (size_t)r;
		}
		char ch = c->buf[c->pos++];
		if (n < 4)
			code[n] = ch;
		n++;
		if (ch == '\n') {
			if (n > 4 && code[3] == '-') { /* more lines */
				n = 0;
				continue;
			}
			return atoi(code);
		}
	}
}

static int lmtp_client_send(struct lmtp_client *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One session: LHLO, then its messages, pipelined as an MTA does. */
static void *lmtp_client_main(void *arg)
{
	struct lmtp_client *c = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)c->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return NULL;
	/* Whole commands are written at once: Nagle would only hold the
	 * last piece of each for the server's delayed ACK. */
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char line[600];
	if (lmtp_client_reply(c) != 220 ||
	    lmtp_client_send(c, "LHLO bench.example\r\n", 20) != 0 ||
	    lmtp_client_reply(c) != 250)
		goto out;
	for (int i = 0; i < c->n; i++) {
		unsigned long long rel =
			0x3c3c3c3cULL ^ (1000000000ULL + (unsigned)(i % 100));
		int head = snprintf(
			line, sizeof(line),
			"MAIL FROM:<news@bench.example>\r\n"
			"RCPT TO:<bench.%016llx@relay.localhost>\r\nDATA\r\n",
			rel);
		if (lmtp_client_send(c, line, (size_t)head) != 0 ||
		    lmtp_client_reply(c) != 250 ||
		    lmtp_client_reply(c) != 250 || lmtp_client_reply(c) != 354)
			goto out;
		head = snprintf(line, sizeof(line),
				"From: News <news@bench.example>\r\n"
				"Subject: Bench %d.%d\r\nCMR-Topic: news\r\n"
				"Message-ID: <%d.%d@bench.example>\r\n\r\n",
				c->index, i, c->index, i);
		if (lmtp_client_send(c, line, (size_t)head) != 0 ||
		    lmtp_client_send(c, c->message, strlen(c->message)) != 0 ||
		    lmtp_client_send(c, ".\r\n", 3) != 0)
			goto out;
		if (lmtp_client_reply(c) == 250)
			c->delivered++;
	}
	lmtp_client_send(c, "QUIT\r\n", 6);
out:
	close(c->fd);
	return NULL;
}

static int bench_lmtp(const struct cli_args *args)
{
	long n = bench_number(cli_value(args, bench_flags, "messages"), 20000,
			      1, 10000000);
	long sessions = bench_number(cli_value(args, bench_flags, "sessions"),
				     8, 1, 64);
	long size = bench_number(cli_value(args, bench_flags, "size"), 10240,
				 100, 1000000);
	if (n < 0 || sessions < 0 || size < 0) {
		fprintf(stderr, "cmr: bench lmtp: --messages 1..10000000, "
				"--sessions 1..64, --size 100..1000000\n");
		return CLI_USAGE;
	}
	/* 100 relationships, each alias in turn: as `bench campaign` makes
	 * them. */
	struct bench_world w;
	char err[512];
	int rc = bench_world_open(args, true, &w) == 0 &&
				 bench_world_fill(&w, 100) == 0
			 ? APP_OK
			 : APP_FAULT;
	int fd = -1, port = 0;
	struct lmtp_server *srv = NULL;
	struct listen_addr la = { 0 };
	snprintf(la.host, sizeof(la.host), "127.0.0.1");
	snprintf(la.text, sizeof(la.text), "127.0.0.1:0");
	if (rc == APP_OK &&
	    (lmtp_listen(&la, &fd, &port, err, sizeof(err)) != 0 ||
	     lmtp_start(&w.a, fd, &srv, err, sizeof(err)) != 0)) {
		fprintf(stderr, "cmr: bench lmtp: %s\n", err);
		rc = APP_FAULT;
	}
	/* The body: lines of 76 characters up to the size. */
	char *message = rc == APP_OK ? malloc((size_t)size + 80) : NULL;
	if (rc == APP_OK && message == NULL)
		rc = APP_FAULT;
	if (message) {
		size_t at = 0;
		while (at + 78 <= (size_t)size) {
			memset(message + at, 'x', 76);
			memcpy(message + at + 76, "\r\n", 2);
			at += 78;
		}
		message[at] = '\0';
	}
	struct lmtp_client *clients =
		calloc((size_t)sessions, sizeof(*clients));
	pthread_t *threads = calloc((size_t)sessions, sizeof(*threads));
	struct timespec t0, t1;
	long delivered = 0;
	if (rc == APP_OK && clients && threads) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (long i = 0; i < sessions; i++) {
			clients[i] = (struct lmtp_client){
				.port = port,
				.n = (int)(n / sessions + (i < n % sessions)),
				.size = (int)size,
				.index = (int)i,
				.message = message,
			};
			if (pthread_create(&threads[i], NULL, lmtp_client_main,
					   &clients[i]) != 0)
				clients[i].n = -1;
		}
		for (long i = 0; i < sessions; i++)
			if (clients[i].n >= 0)
				pthread_join(threads[i], NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		for (long i = 0; i < sessions; i++)
			delivered += clients[i].delivered;
	}
	lmtp_stop(srv);
	const char *store = bench_store_name(w.a.cfg.store); /* before close */
	bench_world_close(&w);
	free(message);
	free(clients);
	free(threads);
	if (rc != APP_OK || delivered != n) {
		fprintf(stderr,
			"cmr: bench lmtp: %ld of %ld messages were "
			"accepted\n",
			delivered, n);
		return CLI_FAIL;
	}
	double secs = bench_seconds(&t0, &t1);
	json_t *o = json_pack(
		"{s:s,s:f,s:s,s:I,s:I,s:I,s:f,s:s}", "bench", "lmtp", "value",
		(double)n / secs, "unit", "messages/s", "messages",
		(json_int_t)n, "sessions", (json_int_t)sessions, "size",
		(json_int_t)size, "seconds", secs, "store", store);
	cli_print_json(o);
	json_decref(o);
	return CLI_OK;
}

int cli_bench(int argc, char **argv)
{
	struct cli_args args;

	int exit;
	const char *what = cli_parse_verb(argc, argv, bench_flags, "hold-queue",
					  bench_usage, &args, &exit);
	if (what == NULL)
		return exit;
	if (strcmp(what, "gate") == 0)
		return bench_gate(&args);
	if (strcmp(what, "campaign") == 0)
		return bench_campaign(&args);
	if (strcmp(what, "http") == 0)
		return bench_http(&args);
	if (strcmp(what, "lmtp") == 0)
		return bench_lmtp(&args);
	fprintf(stderr,
		"cmr: bench: \"%s\" is not a benchmark (gate, campaign, "
		"lmtp or http)\n",
		what);
	return CLI_USAGE;
}
