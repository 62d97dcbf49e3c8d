/*
 * utf8.h — UTF-8 as every part of cmr reads it: one strict decoder (RFC
 * 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF, no
 * sequence cut short), the validity check built on it, a cut of a string
 * to a byte budget at a character boundary, and the repair a header value
 * gets before it goes into JSON.
 *
 * Everything works on a pointer and a length, never on NUL termination, so
 * U+0000 is an ordinary character and no function reads past s + len.
 * Every operation is linear in the bytes it looks at. Pure: no I/O, no
 * allocation, no globals.
 */
#ifndef CMR_CORE_UTF8_H
#define CMR_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the character that starts s[0..len): stores its code point in
 * *cp and returns its length in bytes (1 to 4). Returns 0, leaving *cp
 * alone, when len is 0 or s does not start with a well-formed character
 * (an overlong form, a surrogate, a code point above U+10FFFF, a byte that
 * cannot begin a character, or a sequence that len cuts short). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* The length of the longest prefix of s[0..len) that is valid UTF-8: the
 * offset of the first byte that does not begin a well-formed character
 * (len when there is none). */
size_t utf8_valid_prefix(const char *s, size_t len);

/* True when all of s[0..len) is valid UTF-8. */
bool utf8_valid(const char *s, size_t len);

/* Where to cut s[0..len) so that it fits in max bytes without splitting a
 * character: len when len <= max, otherwise the largest n <= max such that
 * s[n] is not a continuation byte (10xxxxxx), or 0. On valid UTF-8 that
 * is the longest prefix of whole characters within max bytes, never more
 * than three bytes short of max. Looks only at the bytes it backs over. */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Makes s[0..len) valid UTF-8 in place and returns its new length (<=
 * len; the caller writes a terminator if it wants one). Well-formed
 * characters stay as they are. A sequence cut short by the end — a lead
 * byte 0xC0..0xF7 followed by fewer continuation bytes than it announces
 * and then nothing — is dropped, whatever it would have decoded to: it is
 * what a byte budget leaves of a character. Every other byte that does not
 * begin a well-formed character becomes '?', one for one. */
size_t utf8_clean(char *s, size_t len);

#endif
