/*
 * rcpt.h — the recipient check at RCPT time (the use case behind the
 * Postfix policy door): may mail for this alias be taken at all? The
 * gate's RCPT stage (rows 1, 3–6) decides, as everywhere.
 *
 * Most answers are passes and record nothing, so they do not go through
 * the writer: the few facts the RCPT stage reads of a relationship and
 * its person (state, expiry, granted channels, do-not-contact, silence)
 * are cached by alias, and an entry holds only while the gate's
 * generation (gate_state_generation) has not moved — any change of terms,
 * state or global terms moves it. A refusal is decided again on the
 * writer, against the gate's own state, and recorded there before it is
 * answered.
 */
#ifndef CMR_APP_RCPT_H
#define CMR_APP_RCPT_H

#include "app/app.h"

enum rcpt_verdict {
	RCPT_PASS,   /* DUNNO: the message is decided whole at LMTP */
	RCPT_REJECT, /* the uniform refusal (recorded when it is someone's) */
	RCPT_FAULT,  /* ours: a temporary failure */
};

struct rcpt_cache;

struct rcpt_cache *rcpt_cache_new(void);
void rcpt_cache_free(struct rcpt_cache *c);

/* The verdict for mail to alias (lower case) from the envelope sender;
 * any thread. */
enum rcpt_verdict rcpt_check(struct app *a, struct rcpt_cache *c,
			     const char *alias, const char *sender,
			     int64_t now_ms);

#endif
