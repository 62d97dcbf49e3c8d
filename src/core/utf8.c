/*
 * utf8.c — UTF-8 (see utf8.h).
 *
 * The decoder follows the table of RFC 3629 §4: the lead byte says how
 * many bytes follow, and the bounds of the second byte are what exclude
 * overlong forms (after E0, F0), surrogates (after ED) and code points
 * above U+10FFFF (after F4). Every other function is a loop over it, so
 * there is one definition of well-formed in cmr.
 */
#include "utf8.h"

/* A byte of the form 10xxxxxx, which only continues a character. */
static bool utf8_is_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t utf8_decode(const char *str, size_t len, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
	uint32_t c;
	size_t n, k;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else {
		return 0; /* a continuation byte, C0, C1 or F5..FF */
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 1; k < n; k++) {
		if (!utf8_is_continuation(s[k]))
			return 0;
		c = (c << 6) | (s[k] & 0x3F);
	}
	*cp = c;
	return n;
}

size_t utf8_valid_prefix(const char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len && (n = utf8_decode(s + i, len - i, &cp)) > 0)
		i += n;
	return i;
}

bool utf8_valid(const char *s, size_t len)
{
	return utf8_valid_prefix(s, len) == len;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && utf8_is_continuation((unsigned char)s[max]))
		max--;
	return max;
}

/* How many continuation bytes a lead byte announces by its form alone
 * (110xxxxx: 1, 1110xxxx: 2, 11110xxx: 3), whether or not what follows
 * could be well-formed; 0 for any other byte. */
static size_t utf8_announced(unsigned char c)
{
	if ((c & 0xE0) == 0xC0)
		return 1;
	if ((c & 0xF0) == 0xE0)
		return 2;
	if ((c & 0xF8) == 0xF0)
		return 3;
	return 0;
}

size_t utf8_clean(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp), k;

		if (n > 0) {
			i += n;
			continue;
		}
		/* Cut short by the end: every byte up to it continues the
		 * lead byte, and there are fewer than it announces. */
		n = utf8_announced((unsigned char)s[i]);
		for (k = 1; k <= n && i + k < len; k++)
			if (!utf8_is_continuation((unsigned char)s[i + k]))
				break;
		if (k <= n && i + k == len)
			return i;
		s[i++] = '?';
	}
	return len;
}
