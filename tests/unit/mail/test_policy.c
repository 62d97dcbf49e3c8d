/*
 * test_policy.c — one attribute line of the Postfix policy delegation
 * protocol (policy.h, policy_attribute; Postfix's SMTPD_POLICY_README):
 * `name=value`, split at the first '=', names matched exactly; of the
 * attributes only request, protocol_state, recipient (lower-cased) and
 * sender are kept, every other one (client_address, helo_name, queue_id,
 * …, and names Postfix may add later) is ignored; a line without a name
 * or without '=' is refused, and so is a kept value longer than its field,
 * which is then left as it was — never cut into another address. How a
 * request is framed (the empty line that ends it, the line and attribute
 * limits, the answers) is the black-box suite's: it needs a connection.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "mail/policy.h"

/* policy_attribute on a writable copy of line. */
static const char *attr(struct policy_request *req, const char *line)
{
	char copy[POLICY_LINE_MAX + 1];
	cr_assert_lt(strlen(line), sizeof(copy));
	strcpy(copy, line);
	return policy_attribute(req, copy);
}

static void ok(struct policy_request *req, const char *line)
{
	const char *why = attr(req, line);
	cr_assert_null(why, "%s: %s", line, why);
}

/* A request as Postfix sends it at RCPT time, attribute by attribute. */
Test(policy, a_whole_request)
{
	static const char *const lines[] = {
		"request=smtpd_access_policy",
		"protocol_state=RCPT",
		"protocol_name=ESMTP",
		"client_address=192.0.2.10",
		"client_name=mail.brand.example",
		"reverse_client_name=mail.brand.example",
		"helo_name=mail.brand.example",
		"sender=News@Brand.example",
		"recipient=Ana.K3X@Alias.Example",
		"recipient_count=0",
		"queue_id=",
		"instance=123.456.7",
		"size=0",
		"etrn_domain=",
		"stress=",
		"sasl_method=",
		"ccert_subject=",
		"encryption_protocol=TLSv1.3",
		"policy_context=",
		"server_address=192.0.2.1",
		"server_port=25",
	};
	struct policy_request req;
	memset(&req, 0, sizeof(req));
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
		ok(&req, lines[i]);
	cr_assert_str_eq(req.request, "smtpd_access_policy");
	cr_assert_str_eq(req.state, "RCPT");
	/* the recipient is compared in lower case; the sender is recorded
	 * as given */
	cr_assert_str_eq(req.recipient, "ana.k3x@alias.example");
	cr_assert_str_eq(req.sender, "News@Brand.example");
}

/* Unknown attributes change nothing, whatever their value or length. */
Test(policy, unknown_attributes_ignored)
{
	struct policy_request req, before;
	memset(&req, 0, sizeof(req));
	ok(&req, "recipient=ana@alias.example");
	memcpy(&before, &req, sizeof(req));
	char long_value[POLICY_LINE_MAX];
	snprintf(long_value, sizeof(long_value), "ccert_subject=%0*d", 2000, 0);
	ok(&req, long_value);
	ok(&req, "future_attribute=whatever");
	ok(&req, "x=");
	/* names are matched exactly: these are other attributes */
	ok(&req, "Recipient=evil@alias.example");
	ok(&req, "recipient =evil@alias.example");
	ok(&req, " recipient=evil@alias.example");
	ok(&req, "recipients=evil@alias.example");
	cr_assert_eq(memcmp(&req, &before, sizeof(req)), 0);
}

/* The value runs from the first '=' to the end of the line. */
Test(policy, values)
{
	struct policy_request req;
	memset(&req, 0, sizeof(req));
	ok(&req, "sender=a=b@brand.example");
	cr_assert_str_eq(req.sender, "a=b@brand.example");
	ok(&req, "recipient=ana@alias.example=");
	cr_assert_str_eq(req.recipient, "ana@alias.example=");
	/* the null sender of a bounce is an empty value */
	ok(&req, "sender=");
	cr_assert_str_eq(req.sender, "");
	/* a later line of the same name wins */
	ok(&req, "protocol_state=MAIL");
	ok(&req, "protocol_state=RCPT");
	cr_assert_str_eq(req.state, "RCPT");
}

Test(policy, malformed_lines)
{
	static const char *const lines[] = {
		"", "request", "recipient ana@alias.example", "=value", "=",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
		struct policy_request req;
		memset(&req, 0, sizeof(req));
		const char *why = attr(&req, lines[i]);
		cr_assert_not_null(why, "\"%s\" taken", lines[i]);
		cr_assert(strstr(why, "name=value") != NULL, "%s", why);
	}
}

/* Each kept value at its field's size less one (taken whole) and at its
 * size (refused, and the field left as it was). */
static void limit(const char *name, size_t field,
		  const char *(*get)(const struct policy_request *))
{
	char line[POLICY_LINE_MAX + 1];
	struct policy_request req;
	memset(&req, 0, sizeof(req));
	int n = snprintf(line, sizeof(line), "%s=", name);
	memset(line + n, 'a', field - 1);
	line[n + (int)field - 1] = '\0';
	ok(&req, line);
	cr_assert_eq(strlen(get(&req)), field - 1, "%s", name);

	memset(&req, 0, sizeof(req));
	snprintf(line, sizeof(line), "%s=kept", name);
	ok(&req, line);
	n = snprintf(line, sizeof(line), "%s=", name);
	memset(line + n, 'b', field);
	line[n + (int)field] = '\0';
	const char *why = attr(&req, line);
	cr_assert_not_null(why, "%s of %zu bytes taken", name, field);
	cr_assert(strstr(why, "too long") != NULL, "%s", why);
	cr_assert_str_eq(get(&req), "kept", "%s", name);
}

static const char *get_request(const struct policy_request *r)
{
	return r->request;
}
static const char *get_state(const struct policy_request *r)
{
	return r->state;
}
static const char *get_recipient(const struct policy_request *r)
{
	return r->recipient;
}
static const char *get_sender(const struct policy_request *r)
{
	return r->sender;
}

Test(policy, over_long_values)
{
	struct policy_request r;
	limit("request", sizeof(r.request), get_request);
	limit("protocol_state", sizeof(r.state), get_state);
	limit("recipient", sizeof(r.recipient), get_recipient);
	limit("sender", sizeof(r.sender), get_sender);
}

/* The line is the caller's buffer, changed in place: the name ends at
 * its '='. */
Test(policy, line_changed_in_place)
{
	struct policy_request req;
	memset(&req, 0, sizeof(req));
	char line[] = "recipient=Ana@Alias.Example";
	cr_assert_null(policy_attribute(&req, line));
	cr_assert_str_eq(line, "recipient");
	cr_assert_str_eq(line + strlen("recipient") + 1, "Ana@Alias.Example");
}
