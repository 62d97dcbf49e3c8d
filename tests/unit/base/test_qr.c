/*
 * test_qr.c — qr_svg: the SVG's path, read back into a module grid, is
 * exactly libqrencode's own matrix for the text at level M (so the level,
 * the mode and the mask are the library's), every dark module lies inside
 * the quiet zone's frame, the document is one white rect under one black
 * path with the attributes a page needs and nothing that could run or
 * fetch, the label is escaped, and empty or oversized text is refused.
 * tests/api/test_account_views.py decodes the image with zbarimg.
 */
#include <criterion/criterion.h>

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/qr.h"

/* Counts non-overlapping occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(s, needle); p;
	     p = strstr(p + strlen(needle), needle))
		n++;
	return n;
}

/* Reads the path's "Mx yhNv1h-Nz" rectangles into grid (size × size,
 * zeroed by the caller); fails the test on anything else or on overlap. */
static void grid_of(const char *svg, unsigned char *grid, int size)
{
	const char *d = strstr(svg, " d=\"");
	cr_assert_not_null(d);
	d += 4;
	while (*d != '"') {
		int x, y, run, back, used = 0;
		cr_assert_eq(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &run,
				    &back, &used),
			     4, "path at: %.40s", d);
		cr_assert_eq(run, back);
		cr_assert(run > 0 && x >= 0 && y >= 0 && x + run <= size &&
			  y < size);
		for (int i = 0; i < run; i++) {
			cr_assert_eq(grid[y * size + x + i], 0, "overlap");
			grid[y * size + x + i] = 1;
		}
		d += used;
	}
}

static void same_as_libqrencode(const char *text)
{
	int w = 0;
	char *svg = qr_svg(text, "a code", &w);
	cr_assert_not_null(svg, "%s", text);
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	cr_assert_not_null(q);
	cr_assert_eq(w, q->width);
	int size = w + 2 * QR_QUIET_ZONE;
	char viewbox[64];
	snprintf(viewbox, sizeof(viewbox), "viewBox=\"0 0 %d %d\"", size, size);
	cr_assert(strstr(svg, viewbox), "%s", svg);
	unsigned char *grid = calloc((size_t)size * (size_t)size, 1);
	cr_assert_not_null(grid);
	grid_of(svg, grid, size);
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++) {
			int in = x >= QR_QUIET_ZONE && y >= QR_QUIET_ZONE &&
				 x < QR_QUIET_ZONE + w && y < QR_QUIET_ZONE + w;
			int dark = in ? q->data[(y - QR_QUIET_ZONE) * w +
						(x - QR_QUIET_ZONE)] &
						   1
				      : 0;
			cr_assert_eq(grid[y * size + x], dark,
				     "%s: module (%d,%d)", text, x, y);
		}
	free(grid);
	QRcode_free(q);
	free(svg);
}

Test(qr, matrix_is_libqrencodes_at_level_m)
{
	same_as_libqrencode("K7QX-2M9P-4HZA");
	same_as_libqrencode("0000-0000-0000");
	same_as_libqrencode("ZZZZ-ZZZZ-ZZZZ");
	same_as_libqrencode(
		"a longer text, in bytes: https://example.org/?x=1");
}

/* A level-L symbol of the same text differs: the comparison above would
 * notice a wrong level. */
Test(qr, level_is_visible_in_the_matrix)
{
	QRcode *m = QRcode_encodeString("K7QX-2M9P-4HZA", 0, QR_ECLEVEL_M,
					QR_MODE_8, 1);
	QRcode *l = QRcode_encodeString("K7QX-2M9P-4HZA", 0, QR_ECLEVEL_L,
					QR_MODE_8, 1);
	cr_assert(m && l);
	cr_assert(m->width != l->width ||
		  memcmp(m->data, l->data, (size_t)(m->width * m->width)) != 0);
	QRcode_free(m);
	QRcode_free(l);
}

Test(qr, one_path_black_on_white_and_nothing_active)
{
	char *svg = qr_svg("K7QX-2M9P-4HZA", "QR code of K7QX-2M9P-4HZA", NULL);
	cr_assert_not_null(svg);
	cr_assert_eq(
		strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39),
		0);
	cr_assert_eq(count(svg, "<path"), 1);
	cr_assert_eq(count(svg, "<rect"), 1);
	cr_assert_eq(count(svg, "<"), 4, "svg, rect, path, /svg: %s", svg);
	cr_assert(strstr(svg, "<rect width=\"29\" height=\"29\" "
			      "fill=\"#fff\"/>"),
		  "%s", svg);
	cr_assert(strstr(svg, "<path fill=\"#000\" d=\"M"));
	cr_assert(strstr(svg, " shape-rendering=\"crispEdges\""));
	cr_assert(strstr(svg, " role=\"img\""));
	cr_assert(strstr(svg, " aria-label=\"QR code of K7QX-2M9P-4HZA\""));
	cr_assert_null(strstr(svg, "script"));
	cr_assert_null(strstr(svg, "href"));
	cr_assert_null(strstr(svg, "url("));
	cr_assert_null(strstr(svg, "style"));
	cr_assert(strlen(svg) > 0 && svg[strlen(svg) - 1] == '>');
	cr_assert_eq(strcmp(svg + strlen(svg) - 6, "</svg>"), 0);
	free(svg);
}

Test(qr, label_is_escaped)
{
	char *svg = qr_svg("x", "a\"b<c>&'d", NULL);
	cr_assert_not_null(svg);
	cr_assert(strstr(svg, "aria-label=\"a&quot;b&lt;c&gt;&amp;&#39;d\""),
		  "%s", svg);
	cr_assert_eq(count(svg, "<"), 4);
	free(svg);
}

Test(qr, empty_or_too_long_text_is_refused)
{
	char big[QR_TEXT_MAX + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_null(qr_svg("", "x", NULL));
	cr_assert_null(qr_svg(big, "x", NULL));
	big[QR_TEXT_MAX] = '\0';
	char *svg = qr_svg(big, "x", NULL);
	cr_assert_not_null(svg);
	free(svg);
}
