/*
 * qr.c — a QR code as SVG (see qr.h).
 */
#include "base/qr.h"

#include <qrencode.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; `failed` once an append could not be made. */
struct qr_buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void qr_put(struct qr_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void qr_put(struct qr_buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->failed = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* Appends label with XML's five special characters escaped (an attribute
 * value in double quotes). */
static void qr_put_escaped(struct qr_buf *b, const char *label)
{
	for (const char *p = label; *p; p++) {
		switch (*p) {
		case '&':
			qr_put(b, "&amp;");
			break;
		case '<':
			qr_put(b, "&lt;");
			break;
		case '>':
			qr_put(b, "&gt;");
			break;
		case '"':
			qr_put(b, "&quot;");
			break;
		case '\'':
			qr_put(b, "&#39;");
			break;
		default:
			qr_put(b, "%c", *p);
			break;
		}
	}
}

char *qr_svg(const char *text, const char *label, int *width)
{
	size_t len = strlen(text);
	if (len == 0 || len > QR_TEXT_MAX)
		return NULL;
	/* As bytes, case kept; libqrencode still picks the densest mode for
	 * each stretch (a connect code is all alphanumeric). */
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL)
		return NULL;
	int w = q->width, size = w + 2 * QR_QUIET_ZONE;
	struct qr_buf b = { .cap = 4096 };
	b.s = malloc(b.cap);
	if (b.s == NULL) {
		QRcode_free(q);
		return NULL;
	}
	b.s[0] = '\0';
	qr_put(&b,
	       "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d "
	       "%d\" "
	       "role=\"img\" aria-label=\"",
	       size, size);
	qr_put_escaped(&b, label);
	qr_put(&b,
	       "\" shape-rendering=\"crispEdges\">"
	       "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	       "<path fill=\"#000\" d=\"",
	       size, size);
	/* Bit 0 of each byte is the module's colour (1: dark). */
	for (int y = 0; y < w; y++) {
		const unsigned char *row = q->data + (size_t)y * (size_t)w;
		for (int x = 0; x < w;) {
			if (!(row[x] & 1)) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < w && (row[x + run] & 1))
				run++;
			qr_put(&b, "M%d %dh%dv1h-%dz", x + QR_QUIET_ZONE,
			       y + QR_QUIET_ZONE, run, run);
			x += run;
		}
	}
	qr_put(&b, "\"/></svg>");
	QRcode_free(q);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	if (width)
		*width = w;
	return b.s;
}
