/*
 * test_html_clean.c — a brand's HTML made safe (base/html_clean.h).
 *
 * The attack corpus is fuzz/corpus/html_clean/ (the fuzz driver replays
 * the same files): each vector is sanitized and its output read by a
 * checker of its own, independent of the sanitizer's tables — every tag
 * one of a short list, every attribute one of a short list, every href
 * http:, https: or mailto:, every style free of url(), escapes and
 * expressions — and the count of blocked loads is compared.
 */
#define _GNU_SOURCE /* strcasestr */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/html_clean.h"

static const char *const tags_ok[] = {
	"p",	 "div",	    "span",	"h1",	      "h2",	"h3",
	"h4",	 "h5",	    "h6",	"blockquote", "pre",	"center",
	"table", "caption", "thead",	"tbody",      "tfoot",	"tr",
	"td",	 "th",	    "colgroup", "col",	      "ul",	"ol",
	"li",	 "dl",	    "dt",	"dd",	      "a",	"b",
	"i",	 "u",	    "s",	"strong",     "em",	"br",
	"hr",	 "sub",	    "sup",	"small",      "big",	"font",
	"code",	 "address", "section",	"article",    "header", "footer",
	"main",	 "aside",   "nav",	"hgroup",     "figure", "figcaption",
	"mark",	 "q",	    "cite",	"abbr",	      "dfn",	"del",
	"ins",	 "strike",  "tt",	"kbd",	      "samp",	"var",
	"time",	 "bdi",	    "bdo",	"ruby",	      "rt",	"rp",
	"nobr",	 "wbr",	    NULL,
};

static const char *const attributes_ok[] = {
	"align",  "valign",   "colspan",     "rowspan",	    "title", "dir",
	"lang",	  "width",    "height",	     "bgcolor",	    "color", "face",
	"size",	  "border",   "cellpadding", "cellspacing", "style", "alt",
	"nowrap", "scope",    "headers",     "abbr",	    "span",  "start",
	"type",	  "reversed", "datetime",    NULL,
};

static bool listed(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && strncmp(list[i], s, n) == 0)
			return true;
	return false;
}

/* Reads the sanitizer's output as the strict form it writes and fails on
 * anything outside it. */
static void check_output(const char *name, const char *html)
{
	const char *p = html;
	while (*p) {
		cr_assert(*p != '>', "%s: a bare '>' in text: %s", name, html);
		if (*p != '<') {
			p++;
			continue;
		}
		p++;
		bool end = *p == '/';
		if (end)
			p++;
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
		cr_assert(listed(tags_ok, p, n), "%s: tag <%.*s> in %s", name,
			  (int)n, p, html);
		bool link = n == 1 && *p == 'a';
		p += n;
		while (!end && *p == ' ') {
			p++;
			size_t an = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
			const char *attr = p;
			p += an;
			cr_assert(strncmp(p, "=\"", 2) == 0,
				  "%s: attribute without a quoted value in %s",
				  name, html);
			p += 2;
			const char *value = p, *close = strchr(p, '"');
			cr_assert_not_null(close, "%s: unclosed value", name);
			cr_assert(memchr(value, '<', (size_t)(close - value)) ==
					  NULL,
				  "%s: '<' in a value", name);
			p = close + 1;
			char v[4096];
			snprintf(v, sizeof(v), "%.*s", (int)(close - value),
				 value);
			if (link && an == 4 && strncmp(attr, "href", 4) == 0) {
				cr_assert(strncasecmp(v, "http:", 5) == 0 ||
						  strncasecmp(v, "https:", 6) ==
							  0 ||
						  strncasecmp(
							  v, "mailto:", 7) == 0,
					  "%s: href %s", name, v);
				continue;
			}
			if (link &&
			    ((an == 3 && strncmp(attr, "rel", 3) == 0 &&
			      strcmp(v, "noopener noreferrer") == 0) ||
			     (an == 6 && strncmp(attr, "target", 6) == 0 &&
			      strcmp(v, "_blank") == 0)))
				continue;
			cr_assert(listed(attributes_ok, attr, an),
				  "%s: attribute %.*s in %s", name, (int)an,
				  attr, html);
			if (an == 5 && strncmp(attr, "style", 5) == 0) {
				static const char *const bad[] = {
					"url",	      "expression", "\\",
					"@",	      "import",	    "image",
					"behavior",   "binding",    "/",
					"javascript", NULL,
				};
				for (size_t i = 0; bad[i]; i++)
					cr_assert_null(strcasestr(v, bad[i]),
						       "%s: style %s", name, v);
			}
		}
		cr_assert_eq(*p, '>', "%s: tag not closed in %s", name, html);
		p++;
	}
}

static char *slurp(const char *file, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path),
		 CMR_SOURCE_ROOT "/fuzz/corpus/html_clean/%s", file);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	char *s = malloc(1 << 16);
	cr_assert_not_null(s);
	*len = fread(s, 1, (1 << 16) - 1, f);
	s[*len] = '\0';
	fclose(f);
	return s;
}

/* The vectors: the file, the loads it would have made, and text that
 * must stay (or NULL). */
static const struct vector {
	const char *file;
	int blocked;
	const char *keep;
} vectors[] = {
	{ "img_onerror.html", 1, NULL },
	{ "svg_onload.html", 0, "<p>after</p>" },
	{ "js_entities.html", 0, "x" },
	{ "js_tab_entity.html", 0, "x" },
	{ "js_newline_space_case.html", 0, "abcd" },
	{ "js_nul.html", 0, "x" },
	{ "iframe_srcdoc.html", 0, "<p>after</p>" },
	{ "iframe_src.html", 1, NULL },
	{ "mxss_math_mglyph.html", 0, NULL },
	{ "mxss_form_math.html", 0, NULL },
	{ "mxss_svg_style.html", 0, NULL },
	{ "noscript_title.html", 0, NULL },
	{ "style_import.html", 1, "<p>hi</p>" },
	{ "style_attr_url.html", 1, "<div>x</div>" },
	{ "style_behavior.html", 1, "<div style=\"color: red;\">x</div>" },
	{ "style_expression.html", 0, "<div>x</div>" },
	{ "style_escape.html", 1, "<div style=\"color: blue;\">x</div>" },
	{ "style_image_set.html", 1, "<div>x</div>" },
	{ "style_shorthand.html", 1, "<div style=\"color: red;\">x</div>" },
	{ "meta_refresh.html", 1, "<p>x</p>" },
	{ "base_href.html", 0, "x" },
	{ "form_button.html", 0, NULL },
	{ "object_data.html", 1, NULL },
	{ "embed_src.html", 1, NULL },
	{ "link_stylesheet.html", 2, NULL },
	{ "img_srcset.html", 1, "logo" },
	{ "video_poster.html", 2, NULL },
	{ "table_background.html", 1, "<td>cell</td>" },
	{ "input_image.html", 1, NULL },
	{ "body_onload.html", 1, "hi" },
	{ "svg_xlink.html", 1, NULL },
	{ "comment_trick.html", 1, NULL },
	{ "cdata_trick.html", 0, NULL },
	{ "template.html", 1, NULL },
	{ "select_style.html", 0, "<p>a</p>" },
	{ "textarea_img.html", 1, NULL },
	{ "mixed_case.html", 1, NULL },
	{ "unclosed.html", 0, "text" },
	{ "tracking_pixel.html", 1, "<p>Hello</p>" },
	{ "data_uri_link.html", 0, "x" },
	{ "vbscript.html", 0, "x" },
	{ "xmp_plaintext.html", 0, NULL },
	{ "cid_data_images.html", 0, "Logo" },
	{ "link_kept.html", 0,
	  "<a href=\"https://shop.example/sale?a=1&amp;b=2\" "
	  "rel=\"noopener noreferrer\" target=\"_blank\">Sale</a> "
	  "<a href=\"mailto:hi@shop.example\" rel=\"noopener noreferrer\" "
	  "target=\"_blank\">mail</a>" },
	{ "keygen_isindex.html", 0, NULL },
	{ "audio_source.html", 2, NULL },
	{ "newsletter.html", 3, "Our hero" },
};

Test(html_clean, corpus)
{
	size_t n = sizeof(vectors) / sizeof(*vectors);
	cr_assert_geq(n, 30);
	for (size_t i = 0; i < n; i++) {
		const struct vector *v = &vectors[i];
		size_t len;
		char *in = slurp(v->file, &len);
		struct html_clean c;
		cr_assert(html_clean(in, len, &c), "%s", v->file);
		cr_assert_eq(strlen(c.html), c.len, "%s", v->file);
		check_output(v->file, c.html);
		cr_expect_eq(c.remote_blocked, v->blocked,
			     "%s: %d blocked, want %d; output %s", v->file,
			     c.remote_blocked, v->blocked, c.html);
		if (v->keep)
			cr_expect(strstr(c.html, v->keep) != NULL,
				  "%s: want %s in %s", v->file, v->keep,
				  c.html);
		cr_expect_null(strcasestr(c.html, "alert(1)<"), "%s", v->file);
		html_clean_free(&c);
		free(in);
	}
}

static char *clean(const char *html, int *blocked)
{
	struct html_clean c;
	cr_assert(html_clean(html, strlen(html), &c));
	check_output(html, c.html);
	if (blocked)
		*blocked = c.remote_blocked;
	return c.html;
}

static void is(const char *html, const char *want)
{
	char *got = clean(html, NULL);
	cr_assert_str_eq(got, want, "%s", html);
	free(got);
}

Test(html_clean, text_is_escaped)
{
	is("a &lt;script&gt; &amp; b", "a &lt;script&gt; &amp; b");
	is("<p title='a\"b&lt;c'>x</p>", "<p title=\"a&quot;b&lt;c\">x</p>");
	is("", "");
	is("<pre>\n\nx</pre>", "<pre>\n\nx</pre>");
}

Test(html_clean, unknown_elements_keep_their_text)
{
	is("<custom-el onclick=x>hi</custom-el>", "hi");
	is("<label>a</label><details><summary>b</summary>c</details>", "abc");
}

Test(html_clean, style_keeps_plain_declarations)
{
	is("<p style=\"COLOR: Red; position: fixed; font-size: 12px\">x</p>",
	   "<p style=\"color: Red; font-size: 12px;\">x</p>");
	is("<p style=\"color: rgb(1, 2, 3)\">x</p>",
	   "<p style=\"color: rgb(1, 2, 3);\">x</p>");
	is("<p style=\"color: rgb(url(x))\">x</p>", "<p>x</p>");
	is("<p style=\"font-family: 'Open Sans', Arial\">x</p>",
	   "<p style=\"font-family: &#39;Open Sans&#39;, Arial;\">x</p>");
	is("<p style=\"color: red /* x */\">x</p>", "<p>x</p>");
}

Test(html_clean, links_without_a_safe_scheme_lose_their_tag)
{
	is("<a href=\"/relative\">r</a><a name=x>n</a>", "rn");
	is("<a href=\"HTTPS://x.example/\">x</a>",
	   "<a href=\"HTTPS://x.example/\" rel=\"noopener noreferrer\" "
	   "target=\"_blank\">x</a>");
	is("<a href=\"ht\ntps://x.example/\">x</a>",
	   "<a href=\"https://x.example/\" rel=\"noopener noreferrer\" "
	   "target=\"_blank\">x</a>");
}

static char *repeat(const char *tag, size_t n)
{
	size_t t = strlen(tag);
	char *s = malloc(t * n + 1);
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + t * i, tag, t);
	s[t * n] = '\0';
	return s;
}

Test(html_clean, nesting_is_bounded)
{
	char *deep = repeat("<div>", HTML_CLEAN_PARSE_DEPTH);
	struct html_clean c;
	cr_assert(html_clean(deep, strlen(deep), &c));
	cr_assert(!c.as_text);
	size_t opened = 0;
	for (const char *p = c.html; (p = strstr(p, "<div>")) != NULL; p++)
		opened++;
	cr_assert_eq(opened, HTML_CLEAN_DEPTH);
	check_output("deep", c.html);
	html_clean_free(&c);
	free(deep);
}

Test(html_clean, too_deep_is_shown_as_text)
{
	/* 200000 nested elements would keep the parser busy for hours. */
	char *deep = repeat("<b><i>x", 100000);
	struct html_clean c;
	cr_assert(html_clean(deep, strlen(deep), &c));
	cr_assert(c.as_text);
	const char *want = "<div style=\"white-space: pre-wrap;\">xxx";
	cr_assert_eq(strncmp(c.html, want, strlen(want)), 0, "%.60s", c.html);
	check_output("too deep", c.html);
	html_clean_free(&c);
	free(deep);
	/* Elements that close themselves do not count. */
	char *flat = repeat("<p>a<li>b<br><img src=x>", 5000);
	cr_assert(html_clean(flat, strlen(flat), &c));
	cr_assert(!c.as_text);
	cr_assert_eq(c.remote_blocked, 5000);
	html_clean_free(&c);
	free(flat);
}

Test(html_clean, invalid_utf8_and_nul)
{
	char in[] = "a\xff"
		    "b\0c<p>\xc3</p>";
	struct html_clean c;
	cr_assert(html_clean(in, sizeof(in) - 1, &c));
	cr_assert_eq(strlen(c.html), c.len);
	check_output("invalid", c.html);
	html_clean_free(&c);
}
