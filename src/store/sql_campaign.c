/*
 * sqlite_campaign.c — the SQLite backend's campaigns: one message to
 * many relationships, its body stored once, its counts kept as chunks are
 * written, and what its brand reads back of them: the counts and the
 * recipients a page at a time.
 */
#include "sql.h"

static const char q_campaign_insert[] =
	"INSERT INTO campaigns(id, brand, channel, topic, subject, body, "
	"created_at) VALUES (?,?,?,?,?,?,?)";

int sql_campaign_insert(struct store_tx *tx, const struct store_campaign *c)
{
	WRITER_STMT(tx, q_campaign_insert);
	sql_bind_int(st, 1, (int64_t)c->id);
	sql_bind_int(st, 2, (int64_t)c->brand);
	sql_bind_int(st, 3, c->channel);
	bind_text(st, 4, c->topic);
	bind_text(st, 5, c->subject);
	sql_bind_blob(st, 6, c->body ? c->body : "", c->body_len);
	sql_bind_int(st, 7, c->created_at);
	return sql_exec(st);
}

static const char q_campaign_count[] =
	"UPDATE campaigns SET total = total + ?, accepted = accepted + ? "
	"WHERE id = ?";

int sql_campaign_count(struct store_tx *tx, uint64_t id, int64_t total,
		       int64_t accepted)
{
	WRITER_STMT(tx, q_campaign_count);
	sql_bind_int(st, 1, total);
	sql_bind_int(st, 2, accepted);
	sql_bind_int(st, 3, (int64_t)id);
	return sql_exec(st);
}

static const char q_campaign_get[] =
	"SELECT id, brand, channel, topic, created_at, total, accepted "
	"FROM campaigns WHERE id = ?";

static int campaign_row(struct sql_stmt *st, void *out)
{
	struct store_campaign_row *c = out;
	c->id = (uint64_t)sql_col_int(st, 0);
	c->brand = (uint64_t)sql_col_int(st, 1);
	c->channel = (int)sql_col_int(st, 2);
	col_copy(st, 3, c->topic, sizeof(c->topic));
	c->created_at = sql_col_int(st, 4);
	c->total = sql_col_int(st, 5);
	c->accepted = sql_col_int(st, 6);
	return STORE_OK;
}

int sql_campaign_get(struct store_rd *rd, uint64_t id,
		     struct store_campaign_row *out)
{
	return sql_select_key(rd, q_campaign_get, id, NULL, campaign_row, out);
}

/* Only refused rows are read, and only from attempts_campaign_refusals
 * (005_brand_state.sql), which covers the query and gives its groups in
 * order: a campaign of a million deliveries counts its few refusals
 * without reading the deliveries. SQLite's INDEXED BY: the plan does not
 * depend on statistics (and the statement fails to prepare, rather than
 * scan, if the index could not serve it); PostgreSQL plans alike from the
 * partial index, and has no such words. */
#define Q_CAMPAIGN_REFUSALS(indexed_by)                                        \
	"SELECT reason, coalesce(refused_at, 0), count(*) FROM "               \
	"attempts " indexed_by                                                 \
	"WHERE campaign = ?1 AND campaign IS NOT NULL AND "                    \
	"decision = 2 GROUP BY reason, refused_at"
static const char q_campaign_refusals[] =
	Q_CAMPAIGN_REFUSALS("INDEXED BY attempts_campaign_refusals ");
static const char q_pg_campaign_refusals[] = Q_CAMPAIGN_REFUSALS("");

int sql_campaign_refusals(struct store_rd *rd, uint64_t campaign,
			  store_refusal_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(
		&q, rd,
		SQL_PICK(rd, q_campaign_refusals, q_pg_campaign_refusals));
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)campaign);
	while (sql_select_next(&q, NULL, NULL))
		if (cb((int)sql_col_int(st, 0), sql_col_int(st, 1),
		       sql_col_int(st, 2), arg))
			break;
	return sql_select_end(&q);
}

/* The filters mirror core/brand_state.c's rule with ?2 its bound
 * (brand_state_since): refused is a refusal at once or one on release
 * before ?2. Each reads an index in id order and stops after ?4 rows:
 * accepted and every state attempts_campaign, refused
 * attempts_campaign_refused (INDEXED BY, as above). */
#define Q_RECIPIENTS_ALL(indexed_by)                                           \
	SQL_BRAND_ATTEMPT indexed_by "WHERE campaign = ?1 AND "                \
				     "campaign IS NOT NULL AND id > ?3 "       \
				     "ORDER BY id LIMIT ?4"
#define Q_RECIPIENTS_ACCEPTED(indexed_by)                                      \
	SQL_BRAND_ATTEMPT indexed_by                                           \
		"WHERE campaign = ?1 AND campaign IS NOT NULL AND id > ?3 "    \
		"AND "                                                         \
		"(decision <> 2 OR refused_at >= ?2) ORDER BY id LIMIT ?4"
#define Q_RECIPIENTS_REFUSED(indexed_by)                                       \
	SQL_BRAND_ATTEMPT indexed_by "WHERE campaign = ?1 AND campaign IS "    \
				     "NOT NULL AND decision = 2 AND "          \
				     "id > ?3 AND (refused_at IS NULL OR "     \
				     "refused_at < ?2) ORDER BY id "           \
				     "LIMIT ?4"
static const char q_campaign_recipients_all[] =
	Q_RECIPIENTS_ALL("INDEXED BY attempts_campaign ");
static const char q_campaign_recipients_accepted[] =
	Q_RECIPIENTS_ACCEPTED("INDEXED BY attempts_campaign ");
static const char q_campaign_recipients_refused[] =
	Q_RECIPIENTS_REFUSED("INDEXED BY attempts_campaign_refused ");
static const char q_pg_recipients_all[] = Q_RECIPIENTS_ALL("");
static const char q_pg_recipients_accepted[] = Q_RECIPIENTS_ACCEPTED("");
static const char q_pg_recipients_refused[] = Q_RECIPIENTS_REFUSED("");

int sql_campaign_recipients(struct store_rd *rd, uint64_t campaign, int state,
			    int64_t since, uint64_t after, int limit,
			    store_brand_attempt_cb cb, void *arg)
{
	struct sql_select q;
	struct sql_stmt *st = sql_select(
		&q, rd,
		state == 0   ? SQL_PICK(rd, q_campaign_recipients_accepted,
					q_pg_recipients_accepted)
		: state == 1 ? SQL_PICK(rd, q_campaign_recipients_refused,
					q_pg_recipients_refused)
			     : SQL_PICK(rd, q_campaign_recipients_all,
					q_pg_recipients_all));
	if (st == NULL)
		return STORE_FAULT;
	sql_bind_int(st, 1, (int64_t)campaign);
	if (state >= 0)
		sql_bind_int(st, 2, since);
	sql_bind_int(st, 3, (int64_t)after);
	sql_bind_int(st, 4, limit);
	struct store_brand_attempt a;
	while (sql_select_next(&q, sql_brand_attempt_row, &a))
		if (cb(&a, arg))
			break;
	return sql_select_end(&q);
}
