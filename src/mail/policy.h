/*
 * policy.h — the Postfix policy delegation door (`check_policy_service`,
 * Postfix's SMTPD_POLICY_README): at RCPT time, before any message, the
 * gate's recipient stage (rows 1 and 3–6) says whether mail for an alias
 * can be taken at all, so that a stranger's mail is rejected before DATA
 * and never bounced. Many requests per connection.
 */
#ifndef CMR_MAIL_POLICY_H
#define CMR_MAIL_POLICY_H

#include "app/app.h"

#define POLICY_LINE_MAX	    4096 /* one attribute, LF incl. */
#define POLICY_ATTRS_MAX    100	 /* attributes in one request */
#define POLICY_IDLE_SECONDS 330	 /* Postfix lets one idle for 300 s */

struct policy_server;

/* What one request said that matters here (the rest is not kept). */
struct policy_request {
	char request[64];
	char state[16];
	char recipient[321];
	char sender[321];
};

/* Takes one attribute line ("name=value", without its LF; changed in
 * place) into req. NULL, or why the line is refused. */
const char *policy_attribute(struct policy_request *req, char *line);

/* Serves the policy protocol on the listening fd (which it then owns). */
int policy_start(struct app *a, int fd, struct policy_server **out, char *err,
		 size_t errlen);

/* Stops accepting, lets the connections end, frees. False when some did
 * not end in time: they still use the app. */
bool policy_stop(struct policy_server *s);

#endif
