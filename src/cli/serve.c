/*
 * serve.c — `cmr serve`: opens the keys and the store (creating and
 * migrating them on first start), binds the listeners, drops to --user
 * when asked, serves until SIGTERM or SIGINT, then shuts down cleanly:
 * listeners first, then the writer finishes what it has queued.
 */
#include "cli/cli.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "app/scheduler.h"
#include "base/log.h"
#include "http/metrics.h"
#include "http/server.h"
#include "mail/lmtp.h"

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

int cli_serve(int argc, char **argv)
{
	struct cli_args args;
	struct app a;
	char err[512];
	int http_fd = -1, http_port = 0, metrics_fd = -1, metrics_port = 0;
	struct http_server *http = NULL;
	struct metrics_server *metrics = NULL;
	sigset_t set;

	if (cli_parse(argc, argv, serve_flags, serve_usage, &args) != 0)
		return CLI_USAGE;
	if (args.help) {
		cli_usage(stdout, serve_usage, serve_flags);
		return CLI_OK;
	}
	if (args.nargs != 0) {
		fprintf(stderr, "cmr: serve takes no arguments\n");
		return CLI_USAGE;
	}
	const struct config *cfg = &args.cfg;
	/* LMTP needs to know who a sender is: --trust-envelope for now
	 * (the --auth-id path is the next step of the mail door). */
	bool lmtp_on = !cfg->lmtp.off && cfg->trust_envelope;
	if (!cfg->lmtp.off && !cfg->trust_envelope)
		log_info("serve: LMTP stays off: it needs --trust-envelope "
			 "(demos and tests; --auth-id HOST is not supported "
			 "yet)");
	int lmtp_fd = -1, lmtp_port = 0;
	struct lmtp_server *lmtp = NULL;

	/* Signals are taken by sigwait below, in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!cfg->http.off) {
		if (http_listen(&cfg->http, &http_fd, &http_port, err,
				sizeof(err)) != 0) {
			fprintf(stderr, "cmr: --http: %s\n", err);
			return CLI_FAIL;
		}
	}
	if (lmtp_on && lmtp_listen(&cfg->lmtp, &lmtp_fd, &lmtp_port, err,
				   sizeof(err)) != 0) {
		fprintf(stderr, "cmr: --lmtp: %s\n", err);
		if (http_fd >= 0)
			close(http_fd);
		return CLI_FAIL;
	}
	if (!cfg->metrics.off &&
	    http_listen(&cfg->metrics, &metrics_fd, &metrics_port, err,
			sizeof(err)) != 0) {
		fprintf(stderr, "cmr: --metrics: %s\n", err);
		if (http_fd >= 0)
			close(http_fd);
		return CLI_FAIL;
	}
	if ((cfg->user[0] && serve_drop(cfg->user) != 0) ||
	    cli_open(&args, true, &a) != 0) {
		if (http_fd >= 0)
			close(http_fd);
		if (lmtp_fd >= 0)
			close(lmtp_fd);
		if (metrics_fd >= 0)
			close(metrics_fd);
		return CLI_FAIL;
	}
	if (http_fd >= 0) {
		if (http_start(&a, http_fd, &http, err, sizeof(err)) != 0) {
			fprintf(stderr, "cmr: %s\n", err);
			app_close(&a);
			return CLI_FAIL;
		}
		log_info("http: listening on %s:%d", cfg->http.host, http_port);
	}
	if (metrics_fd >= 0) {
		if (metrics_start(&a, metrics_fd, &metrics, err, sizeof(err))) {
			fprintf(stderr, "cmr: %s\n", err);
			http_stop(http);
			app_close(&a);
			return CLI_FAIL;
		}
		log_info("metrics: listening on %s:%d", cfg->metrics.host,
			 metrics_port);
	}
	if (lmtp_fd >= 0) {
		if (lmtp_start(&a, lmtp_fd, &lmtp, err, sizeof(err)) != 0) {
			fprintf(stderr, "cmr: %s\n", err);
			http_stop(http);
			metrics_stop(metrics);
			app_close(&a);
			return CLI_FAIL;
		}
		if (cfg->lmtp.unix_socket)
			log_info("lmtp: listening on unix:%s", cfg->lmtp.path);
		else
			log_info("lmtp: listening on %s:%d", cfg->lmtp.host,
				 lmtp_port);
	}
	struct scheduler *sched = scheduler_start(&a);
	if (sched == NULL) {
		fprintf(stderr, "cmr: cannot start the scheduler\n");
		http_stop(http);
		lmtp_stop(lmtp);
		metrics_stop(metrics);
		app_close(&a);
		return CLI_FAIL;
	}
	log_info("serve: ready (store %s)", cfg->store);

	int sig = 0;
	sigwait(&set, &sig);
	log_info("serve: %s received, shutting down",
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
	http_stop(http);
	lmtp_stop(lmtp);
	metrics_stop(metrics);
	scheduler_stop(sched);
	app_close(&a);
	log_info("serve: stopped");
	return CLI_OK;
}
