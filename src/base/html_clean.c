/*
 * html_clean.c — a brand's HTML made safe to show (see html_clean.h).
 *
 * gumbo builds the tree exactly as a browser would (entities decoded,
 * tags case-folded, NUL bytes replaced, foreign content and the misnested
 * markup of mutation XSS resolved); the walk below then writes a new
 * document from it. Nothing is copied through: every element written is
 * one of the allow-list, every attribute one of its names with its value
 * escaped, every text escaped. The output holds no raw-text element
 * (script, style, textarea, title, xmp, noscript…) and no foreign
 * content, so a browser parsing it again builds the same kinds of
 * element, never a script.
 *
 * The walk is a loop over an explicit stack, and gumbo's tree is
 * flattened before gumbo frees it (its destructor recurses once per
 * level), so that deeply nested input cannot exhaust the stack.
 */
#define _GNU_SOURCE /* strcasestr */
#include "base/html_clean.h"

#include <gumbo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/html_text.h"
#include "core/utf8.h"

/* ---- an output buffer that remembers running out of memory ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* Text, or (attr) an attribute value between double quotes: the five
 * characters that could end or start markup are references; NUL bytes
 * (gumbo replaces them already) are dropped. */
static void buf_escaped(struct buf *b, const char *s, size_t n, bool attr)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *ref = NULL;
		switch (s[i]) {
		case '&':
			ref = "&amp;";
			break;
		case '<':
			ref = "&lt;";
			break;
		case '>':
			ref = "&gt;";
			break;
		case '"':
			ref = attr ? "&quot;" : NULL;
			break;
		case '\'':
			ref = attr ? "&#39;" : NULL;
			break;
		case '\0':
			ref = "";
			break;
		default:
			break;
		}
		if (ref == NULL)
			continue;
		buf_put(b, s + run, i - run);
		buf_str(b, ref);
		run = i + 1;
	}
	buf_put(b, s + run, n - run);
}

/* ---- URLs ---- */

static bool url_space(unsigned char c)
{
	return c <= 0x20; /* what browsers trim: C0 controls and space */
}

/* The scheme of a URL, lower case, into out ("" when it has none): the
 * value trimmed, tabs and newlines inside removed (a browser's URL parser
 * removes them too, so "jav\tascript:" is javascript:). */
static void url_scheme(const char *v, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	while (*v && url_space((unsigned char)*v))
		v++;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == ':') {
			out[n] = '\0';
			return;
		}
		bool first = n == 0;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (!first && ((c >= '0' && c <= '9') || c == '+' ||
				      c == '-' || c == '.'));
		if (!ok || n + 1 >= size)
			break;
		out[n++] = (char)(c | 0x20);
	}
	out[0] = '\0';
}

/* Whether a URL in a loading attribute would have fetched something: not
 * empty, not a fragment, and not of a scheme that loads nothing from
 * elsewhere (data:, cid: — a part of the message itself —, about:…). */
static bool url_loads(const char *v)
{
	while (*v && url_space((unsigned char)*v))
		v++;
	if (*v == '\0' || *v == '#')
		return false;
	static const char *const local[] = {
		"data", "cid", "mid", "about", "javascript", "vbscript"
	};
	char scheme[16];
	url_scheme(v, scheme, sizeof(scheme));
	for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++)
		if (strcmp(scheme, local[i]) == 0)
			return false;
	return true;
}

/* Whether an <a href> may stay: http:, https: or mailto:. A URL without
 * a scheme would resolve against cmr's own origin, so it goes too. */
static bool url_link_ok(const char *v)
{
	char scheme[8];
	url_scheme(v, scheme, sizeof(scheme));
	return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 ||
	       strcmp(scheme, "mailto") == 0;
}

/* The href as written out: trimmed, tabs and newlines removed. */
static void buf_href(struct buf *b, const char *v)
{
	while (*v && url_space((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n > 0 && url_space((unsigned char)v[n - 1]))
		n--;
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
			continue;
		buf_escaped(b, v + run, i - run, true);
		run = i + 1;
	}
	buf_escaped(b, v + run, n - run, true);
}

/* ---- CSS ---- */

static bool css_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* How many remote loads a piece of CSS asks for: each url() whose target
 * is not data:, and each @import or image-set() of a bare string. An
 * estimate for the count shown to the person; nothing of it is kept. */
static int css_loads(const char *css)
{
	/* A backslash escapes the next character ("u\\rl(" is url(); hex
	 * escapes are not read): without them the words are plain. */
	size_t len = strlen(css);
	char *s = malloc(len + 1);
	if (s == NULL)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < len; i++)
		if (css[i] != '\\')
			s[k++] = css[i];
	s[k] = '\0';
	int n = 0;
	for (const char *p = s; *p; p++) {
		size_t skip = 0;
		bool string_only = false;
		if (strncasecmp(p, "url(", 4) == 0) {
			skip = 4;
		} else if (strncasecmp(p, "@import", 7) == 0) {
			skip = 7;
			string_only = true;
		} else if (strncasecmp(p, "image-set(", 10) == 0) {
			skip = 10;
			string_only = true;
		} else {
			continue;
		}
		const char *q = p + skip;
		while (css_space(*q))
			q++;
		bool quoted = *q == '"' || *q == '\'';
		if (quoted)
			q++;
		if (string_only ? quoted : strncasecmp(q, "data:", 5) != 0)
			n++;
		p += skip - 1;
	}
	free(s);
	return n;
}

/* The properties an inline style may set: layout, colour and type. None
 * takes a URL; values are checked below. */
static const char *const css_properties[] = {
	"color",	   "background-color",
	"font-family",	   "font-size",
	"font-style",	   "font-weight",
	"font-variant",	   "text-align",
	"text-decoration", "text-indent",
	"text-transform",  "letter-spacing",
	"word-spacing",	   "line-height",
	"white-space",	   "vertical-align",
	"direction",	   "margin",
	"margin-top",	   "margin-right",
	"margin-bottom",   "margin-left",
	"padding",	   "padding-top",
	"padding-right",   "padding-bottom",
	"padding-left",	   "border",
	"border-top",	   "border-right",
	"border-bottom",   "border-left",
	"border-color",	   "border-style",
	"border-width",	   "border-radius",
	"border-collapse", "border-spacing",
	"width",	   "min-width",
	"max-width",	   "height",
	"min-height",	   "max-height",
	"display",	   "list-style-type",
	"table-layout",	   "float",
	"clear",	   NULL,
};

static bool css_property_ok(const char *name, size_t n)
{
	for (size_t i = 0; css_properties[i]; i++)
		if (strlen(css_properties[i]) == n &&
		    strncasecmp(css_properties[i], name, n) == 0)
			return true;
	return false;
}

/* Whether a value is plain: words, numbers, units, colours, quoted font
 * names, !important, and no function but rgb(), rgba(), hsl(), hsla()
 * (not nested). No backslash, colon, slash, '@', ';', '<' or '&' can
 * pass, so no URL, escape, comment or expression. */
static bool css_value_ok(const char *v, size_t n)
{
	char quote = 0;
	bool in_function = false;
	size_t word = 0; /* where the current word started */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (quote) {
			if (c == (unsigned char)quote)
				quote = 0;
			else if (!alnum && c != ' ' && c != '-' && c != '.' &&
				 c != ',')
				return false;
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = (char)c;
			continue;
		}
		if (c == '(') {
			static const char *const fns[] = { "rgb", "rgba", "hsl",
							   "hsla" };
			bool ok = false;
			for (size_t f = 0; f < 4 && !in_function; f++)
				ok = ok || (strlen(fns[f]) == i - word &&
					    strncasecmp(v + word, fns[f],
							i - word) == 0);
			if (!ok)
				return false;
			in_function = true;
			continue;
		}
		if (c == ')') {
			if (!in_function)
				return false;
			in_function = false;
			word = i + 1;
			continue;
		}
		if (alnum || c == '-' || c == '_')
			continue;
		if (c == ' ' || c == '\t' || c == ',' || c == '.' || c == '#' ||
		    c == '%' || c == '+' || c == '!') {
			word = i + 1;
			continue;
		}
		return false;
	}
	return quote == 0 && !in_function;
}

/* The declarations of style that pass, as "name: value; …" into b. */
static void css_filter(struct buf *b, const char *style)
{
	const char *p = style;
	while (*p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *colon = memchr(p, ':', n);
		if (colon != NULL) {
			const char *name = p, *name_end = colon;
			while (name < name_end && css_space(*name))
				name++;
			while (name_end > name && css_space(name_end[-1]))
				name_end--;
			const char *val = colon + 1, *val_end = p + n;
			while (val < val_end && css_space(*val))
				val++;
			while (val_end > val && css_space(val_end[-1]))
				val_end--;
			size_t nn = (size_t)(name_end - name);
			size_t vn = (size_t)(val_end - val);
			if (vn > 0 && css_property_ok(name, nn) &&
			    css_value_ok(val, vn)) {
				if (b->len > 0)
					buf_str(b, " ");
				for (size_t i = 0; i < nn; i++) {
					char c = (char)(name[i] | 0x20);
					buf_put(b, &c, 1);
				}
				buf_str(b, ": ");
				buf_put(b, val, vn);
				buf_str(b, ";");
			}
		}
		p += n;
		if (*p == ';')
			p++;
	}
}

/* ---- elements and attributes ---- */

enum kind {
	KIND_UNWRAP, /* the tag goes, its content stays */
	KIND_KEEP,   /* written, with allowed attributes */
	KIND_VOID,   /* kept, and has no content or end tag */
	KIND_DROP,   /* gone with its content (only counted) */
	KIND_IMG,    /* its alt text */
	KIND_LINK,   /* <a>: kept with a safe href, else unwrapped */
};

static enum kind kind_of(const GumboNode *node)
{
	if (node->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
		return KIND_DROP; /* SVG and MathML, whole */
	switch (node->v.element.tag) {
	case GUMBO_TAG_P:
	case GUMBO_TAG_DIV:
	case GUMBO_TAG_SPAN:
	case GUMBO_TAG_H1:
	case GUMBO_TAG_H2:
	case GUMBO_TAG_H3:
	case GUMBO_TAG_H4:
	case GUMBO_TAG_H5:
	case GUMBO_TAG_H6:
	case GUMBO_TAG_BLOCKQUOTE:
	case GUMBO_TAG_PRE:
	case GUMBO_TAG_CENTER:
	case GUMBO_TAG_ADDRESS:
	case GUMBO_TAG_SECTION:
	case GUMBO_TAG_ARTICLE:
	case GUMBO_TAG_HEADER:
	case GUMBO_TAG_FOOTER:
	case GUMBO_TAG_MAIN:
	case GUMBO_TAG_ASIDE:
	case GUMBO_TAG_NAV:
	case GUMBO_TAG_HGROUP:
	case GUMBO_TAG_FIGURE:
	case GUMBO_TAG_FIGCAPTION:
	case GUMBO_TAG_TABLE:
	case GUMBO_TAG_CAPTION:
	case GUMBO_TAG_THEAD:
	case GUMBO_TAG_TBODY:
	case GUMBO_TAG_TFOOT:
	case GUMBO_TAG_TR:
	case GUMBO_TAG_TD:
	case GUMBO_TAG_TH:
	case GUMBO_TAG_COLGROUP:
	case GUMBO_TAG_UL:
	case GUMBO_TAG_OL:
	case GUMBO_TAG_LI:
	case GUMBO_TAG_DL:
	case GUMBO_TAG_DT:
	case GUMBO_TAG_DD:
	case GUMBO_TAG_B:
	case GUMBO_TAG_I:
	case GUMBO_TAG_U:
	case GUMBO_TAG_S:
	case GUMBO_TAG_STRONG:
	case GUMBO_TAG_EM:
	case GUMBO_TAG_SUB:
	case GUMBO_TAG_SUP:
	case GUMBO_TAG_MARK:
	case GUMBO_TAG_Q:
	case GUMBO_TAG_CITE:
	case GUMBO_TAG_ABBR:
	case GUMBO_TAG_DFN:
	case GUMBO_TAG_DEL:
	case GUMBO_TAG_INS:
	case GUMBO_TAG_STRIKE:
	case GUMBO_TAG_TT:
	case GUMBO_TAG_KBD:
	case GUMBO_TAG_SAMP:
	case GUMBO_TAG_VAR:
	case GUMBO_TAG_CODE:
	case GUMBO_TAG_TIME:
	case GUMBO_TAG_SMALL:
	case GUMBO_TAG_BIG:
	case GUMBO_TAG_FONT:
	case GUMBO_TAG_BDI:
	case GUMBO_TAG_BDO:
	case GUMBO_TAG_RUBY:
	case GUMBO_TAG_RT:
	case GUMBO_TAG_RP:
	case GUMBO_TAG_NOBR:
		return KIND_KEEP;
	case GUMBO_TAG_BR:
	case GUMBO_TAG_HR:
	case GUMBO_TAG_COL:
	case GUMBO_TAG_WBR:
		return KIND_VOID;
	case GUMBO_TAG_IMG:
	case GUMBO_TAG_IMAGE:
		return KIND_IMG;
	case GUMBO_TAG_A:
		return KIND_LINK;
	case GUMBO_TAG_HEAD:
	case GUMBO_TAG_TITLE:
	case GUMBO_TAG_SCRIPT:
	case GUMBO_TAG_STYLE:
	case GUMBO_TAG_TEMPLATE:
	case GUMBO_TAG_NOSCRIPT:
	case GUMBO_TAG_NOEMBED:
	case GUMBO_TAG_NOFRAMES:
	case GUMBO_TAG_XMP:
	case GUMBO_TAG_PLAINTEXT:
	case GUMBO_TAG_IFRAME:
	case GUMBO_TAG_FRAME:
	case GUMBO_TAG_FRAMESET:
	case GUMBO_TAG_OBJECT:
	case GUMBO_TAG_EMBED:
	case GUMBO_TAG_APPLET:
	case GUMBO_TAG_PARAM:
	case GUMBO_TAG_FORM:
	case GUMBO_TAG_INPUT:
	case GUMBO_TAG_BUTTON:
	case GUMBO_TAG_SELECT:
	case GUMBO_TAG_TEXTAREA:
	case GUMBO_TAG_OPTION:
	case GUMBO_TAG_OPTGROUP:
	case GUMBO_TAG_DATALIST:
	case GUMBO_TAG_KEYGEN:
	case GUMBO_TAG_ISINDEX:
	case GUMBO_TAG_OUTPUT:
	case GUMBO_TAG_PROGRESS:
	case GUMBO_TAG_METER:
	case GUMBO_TAG_VIDEO:
	case GUMBO_TAG_AUDIO:
	case GUMBO_TAG_SOURCE:
	case GUMBO_TAG_TRACK:
	case GUMBO_TAG_CANVAS:
	case GUMBO_TAG_AREA:
	case GUMBO_TAG_LINK:
	case GUMBO_TAG_META:
	case GUMBO_TAG_BASE:
	case GUMBO_TAG_BASEFONT:
	case GUMBO_TAG_BGSOUND:
	case GUMBO_TAG_MENUITEM:
	case GUMBO_TAG_SVG:
	case GUMBO_TAG_MATH:
		return KIND_DROP;
	default:
		return KIND_UNWRAP; /* html, body, label, font-like
				       unknowns, … */
	}
}

/* The attributes a kept element may keep: presentation and language,
 * none of them a URL or a script. `style` is filtered apart. */
static const char *const attributes_kept[] = {
	"align",       "valign",      "colspan", "rowspan", "alt",
	"title",       "dir",	      "lang",	 "width",   "height",
	"bgcolor",     "color",	      "face",	 "size",    "border",
	"cellpadding", "cellspacing", "nowrap",	 "scope",   "headers",
	"abbr",	       "span",	      "start",	 "type",    "reversed",
	"datetime",    NULL,
};

static bool attribute_kept(const char *name)
{
	for (size_t i = 0; attributes_kept[i]; i++)
		if (strcmp(attributes_kept[i], name) == 0)
			return true;
	return false;
}

/* The attributes whose URL a browser fetches by itself. */
static const char *const attributes_loading[] = {
	"src",	   "srcset",   "background",  "poster",	 "lowsrc",
	"dynsrc",  "data",     "codebase",    "archive", "longdesc",
	"profile", "manifest", "imagesrcset", NULL,
};

/* How many fetches an element's attributes would have made: loading
 * attributes, an href anywhere but on a link or <base> (a <link>, SVG's
 * <image> and <use>), a refresh's URL, and url() in a style. */
static int element_loads(const GumboNode *node)
{
	const GumboElement *e = &node->v.element;
	bool link = e->tag == GUMBO_TAG_A || e->tag == GUMBO_TAG_AREA ||
		    e->tag == GUMBO_TAG_BASE;
	int n = 0;
	bool refresh = false;
	const char *content = NULL;
	for (unsigned i = 0; i < e->attributes.length; i++) {
		const GumboAttribute *a = e->attributes.data[i];
		const char *name = a->name, *colon = strrchr(name, ':');
		if (colon != NULL)
			name = colon + 1; /* xlink:href */
		bool loads = false;
		for (size_t k = 0; attributes_loading[k] && !loads; k++)
			loads = strcasecmp(name, attributes_loading[k]) == 0;
		if (!link && strcasecmp(name, "href") == 0)
			loads = true;
		if (loads && url_loads(a->value))
			n++;
		if (strcasecmp(name, "style") == 0)
			n += css_loads(a->value);
		if (strcasecmp(name, "http-equiv") == 0 &&
		    strcasecmp(a->value, "refresh") == 0)
			refresh = true;
		if (strcasecmp(name, "content") == 0)
			content = a->value;
	}
	if (refresh && content != NULL && strcasestr(content, "url") != NULL)
		n++;
	return n;
}

/* Writes the start tag of a kept element: its allowed attributes, and
 * for a link its href with rel and target. */
static void start_tag(struct buf *b, const GumboNode *node, const char *name,
		      const char *href)
{
	const GumboElement *e = &node->v.element;
	buf_str(b, "<");
	buf_str(b, name);
	if (href != NULL) {
		buf_str(b, " href=\"");
		buf_href(b, href);
		buf_str(b, "\" rel=\"noopener noreferrer\" target=\"_blank\"");
	}
	for (unsigned i = 0; i < e->attributes.length; i++) {
		const GumboAttribute *a = e->attributes.data[i];
		if (a->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE)
			continue;
		if (strcmp(a->name, "style") == 0) {
			struct buf css = { 0 };
			css_filter(&css, a->value);
			b->oom = b->oom || css.oom;
			if (css.len > 0) {
				buf_str(b, " style=\"");
				buf_escaped(b, css.p, css.len, true);
				buf_str(b, "\"");
			}
			free(css.p);
			continue;
		}
		if (!attribute_kept(a->name))
			continue;
		buf_str(b, " ");
		buf_str(b, a->name);
		buf_str(b, "=\"");
		buf_escaped(b, a->value, strlen(a->value), true);
		buf_str(b, "\"");
	}
	buf_str(b, ">");
}

static bool has_kept_attribute(const GumboNode *node)
{
	const GumboVector *v = &node->v.element.attributes;
	for (unsigned i = 0; i < v->length; i++) {
		const GumboAttribute *a = v->data[i];
		if (strcmp(a->name, "style") == 0 || attribute_kept(a->name))
			return true;
	}
	return false;
}

static const char *attribute(const GumboNode *node, const char *name)
{
	const GumboAttribute *a =
		gumbo_get_attribute(&node->v.element.attributes, name);
	return a ? a->value : NULL;
}

/* ---- the walk ---- */

struct frame {
	const GumboNode *node;
	unsigned next;	 /* the next child to visit */
	const char *end; /* the end tag's name to write, or NULL */
	bool counting;	 /* inside a dropped element: only counted */
	bool style;	 /* a <style>: its text is CSS to count */
};

struct walk {
	struct frame *stack;
	size_t depth, cap;
	int kept; /* elements written and still open */
	struct buf out;
	int loads;
};

static const GumboVector *children_of(const GumboNode *node)
{
	if (node->type == GUMBO_NODE_DOCUMENT)
		return &node->v.document.children;
	return &node->v.element.children;
}

static bool walk_push(struct walk *w, struct frame f)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct frame *s = realloc(w->stack, cap * sizeof(*s));
		if (s == NULL) {
			w->out.oom = true;
			return false;
		}
		w->stack = s;
		w->cap = cap;
	}
	w->stack[w->depth++] = f;
	return true;
}

static void walk_element(struct walk *w, const struct frame *parent,
			 const GumboNode *node)
{
	w->loads += element_loads(node);
	bool style = node->v.element.tag == GUMBO_TAG_STYLE;
	if (parent->counting) {
		walk_push(w, (struct frame){ node, 0, NULL, true, style });
		return;
	}
	enum kind k = kind_of(node);
	const char *href = NULL;
	if (k == KIND_LINK) {
		href = attribute(node, "href");
		k = href && url_link_ok(href) ? KIND_KEEP : KIND_UNWRAP;
	}
	if ((k == KIND_KEEP || k == KIND_VOID) && w->kept >= HTML_CLEAN_DEPTH)
		k = KIND_UNWRAP;
	switch (k) {
	case KIND_DROP:
		walk_push(w, (struct frame){ node, 0, NULL, true, style });
		return;
	case KIND_IMG: {
		const char *alt = attribute(node, "alt");
		if (alt != NULL)
			buf_escaped(&w->out, alt, strlen(alt), false);
		return;
	}
	case KIND_VOID:
		start_tag(&w->out, node,
			  gumbo_normalized_tagname(node->v.element.tag), NULL);
		return;
	case KIND_KEEP: {
		const char *name =
			gumbo_normalized_tagname(node->v.element.tag);
		start_tag(&w->out, node, name, href);
		if (walk_push(w, (struct frame){ node, 0, name, false, false }))
			w->kept++;
		return;
	}
	default:
		if (node->v.element.tag == GUMBO_TAG_BODY &&
		    has_kept_attribute(node)) {
			/* The body's colours and alignment, on a div. */
			start_tag(&w->out, node, "div", NULL);
			if (walk_push(w, (struct frame){ node, 0, "div", false,
							 false }))
				w->kept++;
			return;
		}
		walk_push(w, (struct frame){ node, 0, NULL, false, false });
		return;
	}
}

static void walk_text(struct walk *w, const struct frame *parent,
		      const GumboNode *node)
{
	const char *text = node->v.text.text;
	if (parent->style) {
		w->loads += css_loads(text);
		return;
	}
	if (parent->counting || node->type == GUMBO_NODE_CDATA)
		return;
	/* A parser drops the newline right after <pre>: write one more so
	 * that the text's own first newline survives. */
	if (parent->end != NULL && parent->next == 1 &&
	    parent->node->v.element.tag == GUMBO_TAG_PRE && text[0] == '\n')
		buf_str(&w->out, "\n");
	buf_escaped(&w->out, text, strlen(text), false);
}

static void walk(struct walk *w, const GumboNode *document)
{
	walk_push(w, (struct frame){ document, 0, NULL, false, false });
	while (w->depth > 0 && !w->out.oom) {
		struct frame *top = &w->stack[w->depth - 1];
		const GumboVector *children = children_of(top->node);
		if (top->next == children->length) {
			if (top->end != NULL) {
				buf_str(&w->out, "</");
				buf_str(&w->out, top->end);
				buf_str(&w->out, ">");
				w->kept--;
			}
			w->depth--;
			continue;
		}
		const GumboNode *child = children->data[top->next++];
		struct frame parent = *top; /* top moves if the stack grows */
		switch (child->type) {
		case GUMBO_NODE_ELEMENT:
		case GUMBO_NODE_TEMPLATE:
			walk_element(w, &parent, child);
			break;
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_WHITESPACE:
		case GUMBO_NODE_CDATA:
			walk_text(w, &parent, child);
			break;
		default:
			break; /* comments */
		}
	}
}

/* Makes every node a child of the document and no node a parent of
 * another, so that gumbo_destroy_output, which recurses per level, goes
 * one level deep. The vectors' arrays come from gumbo's default
 * allocator, malloc, as the new one does. */
static bool flatten(GumboNode *document)
{
	size_t n = 0, cap = 256, done = 0;
	GumboNode **all = malloc(cap * sizeof(*all));
	if (all == NULL)
		return false;
	GumboVector *top = &document->v.document.children;
	for (unsigned i = 0; i < top->length; i++) {
		if (n == cap) {
			GumboNode **more = realloc(all, 2 * cap * sizeof(*all));
			if (more == NULL) {
				free(all);
				return false;
			}
			all = more;
			cap *= 2;
		}
		all[n++] = top->data[i];
	}
	while (done < n) {
		GumboNode *node = all[done++];
		if (node->type != GUMBO_NODE_ELEMENT &&
		    node->type != GUMBO_NODE_TEMPLATE)
			continue;
		GumboVector *c = &node->v.element.children;
		for (unsigned i = 0; i < c->length; i++) {
			if (n == cap) {
				GumboNode **more =
					realloc(all, 2 * cap * sizeof(*all));
				if (more == NULL) {
					free(all);
					return false;
				}
				all = more;
				cap *= 2;
			}
			all[n++] = c->data[i];
		}
		c->length = 0;
	}
	free(top->data);
	top->data = (void **)all;
	top->length = (unsigned)n;
	top->capacity = (unsigned)cap;
	return true;
}

/* Elements whose end tag may be left out, or that have none: a parser
 * closes them by itself, so they do not deepen the tree. */
static const char *const depth_free[] = {
	"a",	    "p",	"li",	   "dt",     "dd",    "tr",
	"td",	    "th",	"tbody",   "thead",  "tfoot", "option",
	"optgroup", "rb",	"rt",	   "rtc",    "rp",    "colgroup",
	"caption",  "html",	"head",	   "body",   "area",  "base",
	"br",	    "col",	"embed",   "hr",     "img",   "input",
	"link",	    "meta",	"param",   "source", "track", "wbr",
	"keygen",   "basefont", "bgsound", "frame",  "image", "isindex",
	NULL,
};

/* Whether the tree could be deeper than HTML_CLEAN_PARSE_DEPTH, by a
 * look at the tags alone (start tags of elements that need an end tag,
 * less end tags): gumbo's time grows with the square of the depth and
 * worse, so deeper input is not given to it. Tags inside comments or
 * scripts count too, which errs on the safe side. */
static bool too_deep(const char *s, size_t len)
{
	long depth = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '<')
			continue;
		bool end = s[i + 1] == '/';
		size_t start = i + 1 + end, n = 0;
		char name[16];
		while (start + n < len && n < sizeof(name) - 1 &&
		       ((s[start + n] | 0x20) >= 'a' &&
			(s[start + n] | 0x20) <= 'z')) {
			name[n] = (char)(s[start + n] | 0x20);
			n++;
		}
		name[n] = '\0';
		if (n == 0)
			continue;
		bool free_ = false;
		for (size_t k = 0; depth_free[k] && !free_; k++)
			free_ = strcmp(depth_free[k], name) == 0;
		if (free_)
			continue;
		depth += end ? -1 : 1;
		if (depth < 0)
			depth = 0;
		if (depth > HTML_CLEAN_PARSE_DEPTH)
			return true;
	}
	return false;
}

/* HTML too deep to parse, shown as its text (core/html_text). */
static bool as_text(const char *html, size_t len, struct html_clean *out)
{
	char *text = malloc(len + 1);
	if (text == NULL)
		return false;
	size_t n = html_text(html, len, text);
	struct buf b = { 0 };
	buf_str(&b, "<div style=\"white-space: pre-wrap;\">");
	buf_escaped(&b, text, n, false);
	buf_str(&b, "</div>");
	free(text);
	if (b.oom) {
		free(b.p);
		return false;
	}
	b.len = utf8_clean(b.p, b.len);
	b.p[b.len] = '\0';
	out->html = b.p;
	out->len = b.len;
	out->as_text = true;
	return true;
}

bool html_clean(const char *html, size_t len, struct html_clean *out)
{
	memset(out, 0, sizeof(*out));
	if (too_deep(html, len))
		return as_text(html, len, out);
	GumboOptions options = kGumboDefaultOptions;
	options.max_errors = 0; /* the errors are not read: keep none */
	GumboOutput *doc = gumbo_parse_with_options(&options, html, len);
	if (doc == NULL)
		return false;
	struct walk w = { 0 };
	walk(&w, doc->document);
	free(w.stack);
	if (!flatten(doc->document)) {
		/* Freed as it is: deep input may then need a deep stack,
		 * but only when memory has already run out. */
		w.out.oom = true;
	}
	gumbo_destroy_output(&options, doc);
	buf_put(&w.out, "", 0); /* an empty result is "" too */
	if (w.out.oom) {
		free(w.out.p);
		return false;
	}
	w.out.len = utf8_clean(w.out.p, w.out.len);
	w.out.p[w.out.len] = '\0';
	out->html = w.out.p;
	out->len = w.out.len;
	out->remote_blocked = w.loads;
	return true;
}

void html_clean_free(struct html_clean *out)
{
	free(out->html);
	memset(out, 0, sizeof(*out));
}
