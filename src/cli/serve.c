/*
 * serve.c — `cmr serve`: opens the keys (made by `cmr init`) and the store
 * (migrating it), holding the store's lock so that no second server
 * shares it, binds the listeners and reads --tls-cert/--tls-key, drops
 * to --user
 * when asked, serves until SIGTERM or SIGINT, then shuts down cleanly:
 * listeners first, then the writer finishes what it has queued.
 */
#include "cli/cli.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "app/scheduler.h"
#include "base/log.h"
#include "base/net.h"
#include "http/metrics.h"
#include "http/server.h"
#include "mail/authres.h"
#include "mail/delivery.h"
#include "mail/lmtp.h"
#include "mail/policy.h"

static const struct cli_flag serve_flags[] = { { 0 } };
static const char serve_usage[] = "cmr serve [settings…]";

static int serve_drop(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		fprintf(stderr, "cmr: --user: no such user \"%s\"\n", user);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "cmr: --user %s: cannot drop privileges: %s\n",
			user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		fprintf(stderr, "cmr: --user %s: privileges came back\n", user);
		return -1;
	}
	return 0;
}

/* The listening sockets, bound before privileges are dropped. */
struct serve_fds {
	int http, metrics, lmtp, policy;
	int http_port, metrics_port, lmtp_port, policy_port;
};

static void serve_close_fds(struct serve_fds *f)
{
	int *fds[] = { &f->http, &f->metrics, &f->lmtp, &f->policy };
	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static int serve_bind(const struct config *cfg, bool lmtp_on,
		      struct serve_fds *f)
{
	char err[512];
	if (!cfg->http.off && http_listen(&cfg->http, &f->http, &f->http_port,
					  err, sizeof(err)) != 0) {
		fprintf(stderr, "cmr: --http: %s\n", err);
		return -1;
	}
	if (lmtp_on && lmtp_listen(&cfg->lmtp, &f->lmtp, &f->lmtp_port, err,
				   sizeof(err)) != 0) {
		fprintf(stderr, "cmr: --lmtp: %s\n", err);
		return -1;
	}
	if (!cfg->policy.off &&
	    net_listen(cfg->policy.host, cfg->policy.port, cfg->policy.text,
		       128, &f->policy, &f->policy_port, err,
		       sizeof(err)) != 0) {
		fprintf(stderr, "cmr: --policy: %s\n", err);
		return -1;
	}
	if (!cfg->metrics.off &&
	    http_listen(&cfg->metrics, &f->metrics, &f->metrics_port, err,
			sizeof(err)) != 0) {
		fprintf(stderr, "cmr: --metrics: %s\n", err);
		return -1;
	}
	return 0;
}

/* The running doors. */
struct serve_doors {
	struct http_tls tls; /* --tls-cert/--tls-key: outlives http */
	struct http_server *http;
	struct metrics_server *metrics;
	struct lmtp_server *lmtp;
	struct policy_server *policy;
	struct scheduler *sched;
	struct delivery *delivery;
};

/* Stops the doors first (no new work), then the scheduler. False when a
 * mail door's connection did not end in time: it still uses the app,
 * which must then be left to the process's exit. */
static bool serve_stop(struct serve_doors *d)
{
	http_stop(d->http);
	d->http = NULL;
	http_tls_clear(&d->tls);
	bool clean = lmtp_stop(d->lmtp);
	clean = policy_stop(d->policy) && clean;
	metrics_stop(d->metrics);
	scheduler_stop(d->sched);
	delivery_stop(d->delivery);
	return clean;
}

/* Set by serve_keys_gone, read after the shutdown it asks for. */
static atomic_bool keys_gone;

/* The keys this server loaded are no longer the store's (app_hear_others):
 * it shuts down as on SIGTERM, then exits with a failure, for whatever
 * supervises it to start it again. */
static void serve_keys_gone(void *unused)
{
	(void)unused;
	atomic_store(&keys_gone, true);
	kill(getpid(), SIGTERM);
}

/* Starts every door whose socket is bound; each owns its fd from then. */
static int serve_start(struct app *a, struct serve_fds *f,
		       struct serve_doors *d)
{
	const struct config *cfg = &a->cfg;
	char err[512];
	int rc = 0;
	if (rc == 0 && f->http >= 0) {
		rc = http_start(a, f->http, &d->tls, &d->http, err,
				sizeof(err));
		f->http = -1;
		if (rc == 0)
			log_info("http: listening on %s:%d%s", cfg->http.host,
				 f->http_port,
				 d->tls.cert ? " (https: --tls-cert)" : "");
	}
	if (rc == 0 && f->metrics >= 0) {
		rc = metrics_start(a, f->metrics, &d->metrics, err,
				   sizeof(err));
		f->metrics = -1;
		if (rc == 0)
			log_info("metrics: listening on %s:%d",
				 cfg->metrics.host, f->metrics_port);
	}
	if (rc == 0 && f->lmtp >= 0) {
		rc = lmtp_start(a, f->lmtp, &d->lmtp, err, sizeof(err));
		f->lmtp = -1;
		if (rc == 0 && cfg->lmtp.unix_socket)
			log_info("lmtp: listening on unix:%s", cfg->lmtp.path);
		else if (rc == 0)
			log_info("lmtp: listening on %s:%d", cfg->lmtp.host,
				 f->lmtp_port);
	}
	if (rc == 0 && f->policy >= 0) {
		rc = policy_start(a, f->policy, &d->policy, err, sizeof(err));
		f->policy = -1;
		if (rc == 0)
			log_info("policy: listening on %s:%d", cfg->policy.host,
				 f->policy_port);
	}
	if (rc == 0 && app_hear_others(a, serve_keys_gone, NULL) != APP_OK) {
		snprintf(err, sizeof(err), "cannot listen to the store");
		rc = -1;
	}
	if (rc == 0 && (d->sched = scheduler_start(a)) == NULL) {
		snprintf(err, sizeof(err), "cannot start the scheduler");
		rc = -1;
	}
	struct stat st;
	if (rc == 0 && cfg->maildir_root[0] &&
	    (stat(cfg->maildir_root, &st) != 0 || !S_ISDIR(st.st_mode) ||
	     access(cfg->maildir_root, W_OK | X_OK) != 0)) {
		snprintf(err, sizeof(err),
			 "--maildir-root %.400s: not a directory cmr can "
			 "write in",
			 cfg->maildir_root);
		rc = -1;
	}
	if (rc == 0) {
		if ((d->delivery = delivery_start(a)) == NULL) {
			snprintf(err, sizeof(err),
				 "cannot start the delivery adapters");
			rc = -1;
		} else if (cfg->maildir_root[0]) {
			log_info("delivery: webhooks, and the Maildir export "
				 "under %s",
				 cfg->maildir_root);
		} else {
			log_info("delivery: webhooks (no Maildir export: "
				 "--maildir-root is not set)");
		}
	}
	if (rc != 0) {
		fprintf(stderr, "cmr: %s\n", err);
		serve_close_fds(f);
		serve_stop(d);
	}
	return rc;
}

/* Names the store's connections by the HTTP address this node answers
 * on ("cmr serve 127.0.0.1:8025"), so that a database's list of sessions
 * (pg_stat_activity) tells the nodes apart. */
static void serve_client(struct config *cfg, const struct serve_fds *f)
{
	if (cfg->http.off || cfg->http.unix_socket)
		snprintf(cfg->client, sizeof(cfg->client), "cmr serve");
	else if (strchr(cfg->http.host, ':')) /* IPv6 */
		snprintf(cfg->client, sizeof(cfg->client),
			 "cmr serve [%.40s]:%d", cfg->http.host, f->http_port);
	else
		snprintf(cfg->client, sizeof(cfg->client), "cmr serve %.40s:%d",
			 cfg->http.host, f->http_port);
}

int cli_serve(int argc, char **argv)
{
	struct cli_args args;
	struct app a;
	sigset_t set;

	if (cli_parse(argc, argv, serve_flags, serve_usage, &args) != 0)
		return CLI_USAGE;
	if (args.help) {
		cli_usage(stdout, serve_usage, serve_flags, NULL);
		return CLI_OK;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: serve takes no arguments\n");
		return CLI_USAGE;
	}
	const struct config *cfg = &args.cfg;
	/* LMTP needs to know who a sender is: the MTA's word (--auth-id),
	 * or, for demos and tests, the envelope (--trust-envelope). */
	if (cfg->auth_id[0] && cfg->trust_envelope) {
		fprintf(stderr, "cmr: give --auth-id or --trust-envelope, "
				"not both\n");
		return CLI_USAGE;
	}
	if (cfg->auth_id[0] && !domain_psl_ready()) {
		fprintf(stderr, "cmr: --auth-id needs the public suffix list "
				"(libpsl, Debian's publicsuffix), and none "
				"could be loaded\n");
		return CLI_FAIL;
	}
	bool lmtp_on =
		!cfg->lmtp.off && (cfg->trust_envelope || cfg->auth_id[0]);
	if (!cfg->lmtp.off && !lmtp_on && cli_given(&args, "lmtp")) {
		fprintf(stderr,
			"cmr: --lmtp %s needs --auth-id HOST (the authserv-id "
			"of the MTA's Authentication-Results) or, for demos "
			"and tests, --trust-envelope: without one, no sender "
			"can be told from a stranger\n",
			cfg->lmtp.text);
		return CLI_USAGE;
	}
	if (!cfg->lmtp.off && !lmtp_on)
		log_info("serve: LMTP stays off: it needs --auth-id HOST (the "
			 "authserv-id of the MTA's Authentication-Results) or, "
			 "for demos and tests, --trust-envelope");

	/* Signals are taken by sigwait below, in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct serve_fds fds = { -1, -1, -1, -1, 0, 0, 0, 0 };
	struct serve_doors doors = { 0 };
	char err[600];
	/* Before privileges are dropped: a key is often root's alone. */
	if (http_tls_load(cfg, &doors.tls, err, sizeof(err)) != 0) {
		fprintf(stderr, "cmr: %s\n", err);
		return CLI_USAGE;
	}
	int bound = serve_bind(cfg, lmtp_on, &fds);
	if (bound == 0)
		serve_client(&args.cfg, &fds);
	if (bound != 0 || (cfg->user[0] && serve_drop(cfg->user) != 0) ||
	    cli_open(&args, APP_OPEN_EXCLUSIVE, &a) != 0) {
		serve_close_fds(&fds);
		http_tls_clear(&doors.tls);
		return CLI_FAIL;
	}
	if (serve_start(&a, &fds, &doors) != 0) {
		app_close(&a);
		return CLI_FAIL;
	}
	log_info("serve: ready (store %s)", cfg->store_shown);

	int sig = 0;
	sigwait(&set, &sig);
	bool failed = atomic_load(&keys_gone);
	if (failed)
		log_info("serve: shutting down: its keys are no longer the "
			 "store's");
	else
		log_info("serve: %s received, shutting down",
			 sig == SIGINT ? "SIGINT" : "SIGTERM");
	if (!serve_stop(&doors)) {
		/* What was acknowledged is durable already; the stuck
		 * connections die with the process. */
		log_warn("serve: stopped with connections still open");
		return failed ? CLI_FAIL : CLI_OK;
	}
	app_close(&a);
	log_info("serve: stopped");
	return failed ? CLI_FAIL : CLI_OK;
}
