/*
 * id.c — API ids (see id.h). The mixing function is the SplitMix64
 * finaliser, which is a bijection on 64-bit integers; its inverse uses
 * the multiplicative inverses of its constants.
 */
#include "id.h"

#include <string.h>

static const char id_prefixes[ID_TYPE_COUNT][5] = {
	"per_", "brd_", "prp_", "rel_", "msg_", "cmp_",
	"off_", "int_", "fbk_", "crd_", "tok_",
};

static const char id_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static uint64_t id_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t id_unxorshift(uint64_t x, unsigned s)
{
	uint64_t r = x;
	for (unsigned i = s; i < 64; i += s)
		r = x ^ (r >> s);
	return r;
}

static uint64_t id_unmix(uint64_t x)
{
	x = id_unxorshift(x, 31);
	x *= 0x319642b2d24d8ec3ULL; /* inverse of 0x94d049bb133111eb */
	x = id_unxorshift(x, 27);
	x *= 0x96de1b173f119089ULL; /* inverse of 0xbf58476d1ce4e5b9 */
	x = id_unxorshift(x, 30);
	return x;
}

static uint16_t id_check(enum id_type type, uint64_t mixed)
{
	uint64_t c = id_mix(mixed ^ (0x9e3779b97f4a7c15ULL * (type + 1)));
	return (uint16_t)(c >> 48);
}

void id_base32(const uint8_t *in, unsigned nbits, char *out)
{
	unsigned n = nbits / 5;
	for (unsigned i = 0; i < n; i++) {
		unsigned v = 0;
		for (unsigned b = 0; b < 5; b++) {
			unsigned bit = i * 5 + b;
			v = (v << 1) | ((in[bit / 8] >> (7 - bit % 8)) & 1u);
		}
		out[i] = id_alphabet[v];
	}
	out[n] = '\0';
}

static int id_char_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if (c == 'o')
		c = '0';
	if (c == 'i' || c == 'l')
		c = '1';
	const char *p = c ? strchr(id_alphabet, c) : NULL;
	return p ? (int)(p - id_alphabet) : -1;
}

bool id_base32_char(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	return c != '\0' && strchr(id_alphabet, c) != NULL;
}

bool id_base32_decode(const char *s, unsigned n, uint8_t *out, size_t out_len)
{
	if ((size_t)n * 5 > out_len * 8)
		return false;
	memset(out, 0, out_len);
	for (unsigned i = 0; i < n; i++) {
		int v = id_char_value(s[i]);
		if (v < 0)
			return false;
		for (unsigned b = 0; b < 5; b++) {
			unsigned bit = i * 5 + b;
			if ((v >> (4 - b)) & 1)
				out[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		}
	}
	return true;
}

void id_encode(enum id_type type, uint64_t key, char out[ID_SIZE])
{
	uint64_t m = id_mix(key);
	uint16_t check = id_check(type, m);
	uint8_t raw[10];

	raw[0] = (uint8_t)(check >> 8);
	raw[1] = (uint8_t)check;
	for (int i = 0; i < 8; i++)
		raw[2 + i] = (uint8_t)(m >> (56 - 8 * i));
	memcpy(out, id_prefixes[type], 4);
	id_base32(raw, 80, out + 4);
}

bool id_decode(enum id_type type, const char *s, uint64_t *key)
{
	uint8_t raw[10];

	if ((unsigned)type >= ID_TYPE_COUNT || s == NULL ||
	    strncmp(s, id_prefixes[type], 4) != 0 || strlen(s) != ID_LEN)
		return false;
	if (!id_base32_decode(s + 4, 16, raw, sizeof(raw)))
		return false;
	uint64_t m = 0;
	for (int i = 0; i < 8; i++)
		m = (m << 8) | raw[2 + i];
	uint16_t check = (uint16_t)((raw[0] << 8) | raw[1]);
	if (check != id_check(type, m))
		return false;
	*key = id_unmix(m);
	return true;
}
