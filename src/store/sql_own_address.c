/*
 * sqlite_own_address.c — the SQLite backend's own addresses: a person's
 * one address at the relay (own_addresses, 008_own_address.sql) and its
 * place in the alias directory, which every address ever given out keeps.
 */
#include <string.h>

#include <sodium.h>

#include "sql.h"

/* address holds the keyed hash of the address (the directory's key),
 * address_sealed and local_part what the person reads, sealed with their
 * data key (store.h, struct store_codec); blocked_sealed the domains they
 * blocked, sealed (NULL for none), while blocked stays '[]' (it holds a
 * list in clear only in a row an older version wrote). */
#define OWN_COLS                                                               \
	"person, address, local_part, strangers, blocked, created_at, "        \
	"address_sealed, blocked_sealed"
#define OWN_READ                                                               \
	OWN_COLS ", (SELECT p.data_key FROM persons p WHERE p.id = "           \
		 "own_addresses.person)"

static const char q_own_by_person[] =
	"SELECT " OWN_READ " FROM own_addresses WHERE person = ?";
static const char q_own_by_address[] =
	"SELECT " OWN_READ " FROM own_addresses WHERE address = ?";

static int own_row(struct sql_stmt *st, void *out)
{
	struct store_own_address *o = out;
	memset(o, 0, sizeof(*o));
	o->person = (uint64_t)sql_col_int(st, 0);
	col_open(st, 6, 8, 1, o->address, sizeof(o->address));
	col_open(st, 2, 8, 1, o->local_part, sizeof(o->local_part));
	o->strangers = (int)sql_col_int(st, 3);
	bool fault = false;
	o->blocked = col_open_either(st, 7, 8, 4, &fault);
	o->created_at = sql_col_int(st, 5);
	return o->blocked ? STORE_OK : STORE_FAULT;
}

int sql_own_address_get(struct store_rd *rd, uint64_t person,
			const char *address, struct store_own_address *out)
{
	char hash[SQL_HASH_SIZE];
	if (address && sql_hash(rd, "alias", address, hash) != STORE_OK)
		return STORE_FAULT;
	return sql_select_key(rd, address ? q_own_by_address : q_own_by_person,
			      person, address ? hash : NULL, own_row, out);
}

/* The directory row: new, or already this person's own address (one
 * they had before); anything else changes no row. */
static const char q_own_alias[] =
	"INSERT INTO aliases(alias, person, relationship) VALUES (?1, ?2, "
	"NULL) "
	"ON CONFLICT(alias) DO UPDATE SET person = ?2 "
	"WHERE aliases.person = ?2 AND aliases.relationship IS NULL";
static const char q_own_put[] =
	"INSERT INTO own_addresses(" OWN_COLS ") VALUES (?1,?2,?3,?4,'[]',?5,"
	"?6,?7) ON CONFLICT(person) DO UPDATE SET address = ?2, local_part = "
	"?3, strangers = ?4, blocked = '[]', address_sealed = ?6, "
	"blocked_sealed = ?7";

static const char q_own_tomb[] =
	"SELECT 1 FROM aliases WHERE alias = ? AND person IS NULL";

/* The own address sealed: the local part, the address and the domains
 * blocked (NULL for none: nothing personal to seal); owned, free() each. */
struct own_sealed {
	char *local_part, *address, *blocked;
};

static int own_put(struct store_tx *tx, const struct store_own_address *o,
		   const char *hash, const struct own_sealed *s);

int sql_own_address_put(struct store_tx *tx, const struct store_own_address *o)
{
	struct store_rd *rd = store_tx_reads(tx);
	char hash[SQL_HASH_SIZE];
	struct own_sealed s = { NULL, NULL, NULL };
	bool blocked = o->blocked && strcmp(o->blocked, "[]") != 0;
	uint8_t key[96];
	size_t key_len;
	int rc = sql_person_key(rd, o->person, key, &key_len);
	if (rc == STORE_OK)
		rc = sql_seal(rd, key, key_len, o->local_part, &s.local_part);
	if (rc == STORE_OK)
		rc = sql_seal(rd, key, key_len, o->address, &s.address);
	if (rc == STORE_OK && blocked)
		rc = sql_seal(rd, key, key_len, o->blocked, &s.blocked);
	sodium_memzero(key, sizeof(key));
	if (rc == STORE_OK)
		rc = sql_hash(rd, "alias", o->address, hash);
	if (rc == STORE_OK)
		rc = own_put(tx, o, hash, &s);
	free(s.local_part);
	free(s.address);
	free(s.blocked);
	return rc;
}

static int own_put(struct store_tx *tx, const struct store_own_address *o,
		   const char *hash, const struct own_sealed *s)
{
	int rc;
	if (o->tombstone[0]) {
		int64_t one;
		rc = sql_select_key(store_tx_reads(tx), q_own_tomb, 0,
				    o->tombstone, sql_row_int, &one);
		if (rc != STORE_NOT_FOUND)
			return rc == STORE_OK ? STORE_CONFLICT : rc;
	}
	{
		WRITER_STMT(tx, q_own_alias);
		bind_text(st, 1, hash);
		sql_bind_int(st, 2, (int64_t)o->person);
		if ((rc = sql_exec_changed(st, STORE_CONFLICT)) != STORE_OK)
			return rc;
	}
	WRITER_STMT(tx, q_own_put);
	sql_bind_int(st, 1, (int64_t)o->person);
	bind_text(st, 2, hash);
	bind_text(st, 3, s->local_part);
	sql_bind_int(st, 4, o->strangers);
	sql_bind_int(st, 5, o->created_at);
	bind_text(st, 6, s->address);
	bind_text(st, 7, s->blocked);
	return sql_exec(st);
}

static const char q_own_delete[] = "DELETE FROM own_addresses WHERE person = ?";

int sql_own_address_delete(struct store_tx *tx, uint64_t person)
{
	WRITER_STMT(tx, q_own_delete);
	sql_bind_int(st, 1, (int64_t)person);
	return sql_exec_changed(st, STORE_NOT_FOUND);
}
