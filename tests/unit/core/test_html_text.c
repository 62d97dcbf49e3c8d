/*
 * test_html_text.c — an HTML document as plain text (core/html_text.h).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/html_text.h"

static char *text(const char *html)
{
	size_t len = strlen(html);
	char *out = malloc(len + 1);
	cr_assert_not_null(out);
	size_t n = html_text(html, len, out);
	cr_assert_leq(n, len);
	cr_assert_eq(strlen(out), n);
	return out;
}

static void is(const char *html, const char *want)
{
	char *got = text(html);
	cr_assert_str_eq(got, want, "%s", html);
	free(got);
}

Test(html_text, paragraphs_and_breaks)
{
	is("<p>One</p><p>Two</p>", "One\n\nTwo");
	is("a<br>b<br/>c<br><br><br>d", "a\nb\nc\n\nd");
	is("<div>a</div><div>b</div>", "a\nb");
	is("<h1>Title</h1>Text", "Title\n\nText");
	is("", "");
	is("   ", "");
}

Test(html_text, white_space_folds_outside_pre)
{
	is("<p>  many \n\t spaces  </p>", "many spaces");
	is("<pre>  a\n   b</pre>after", "  a\n   b\n\nafter");
	is("a<b>b</b> <i>c</i>", "ab c");
}

Test(html_text, hidden_elements_are_dropped)
{
	is("<head><title>T</title><style>p { color: red }</style></head>"
	   "<body>Hi<script>if (a < b) document.write('</p>')</script>"
	   "</body>",
	   "Hi");
	is("x<!-- a comment <p> -->y", "xy");
	is("<SCRIPT>bad()</SCRIPT>ok", "ok");
}

Test(html_text, lists_and_tables)
{
	is("<ul><li>one</li><li>two</li></ul>", "- one\n- two");
	is("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
	   "a\tb\nc");
}

Test(html_text, references)
{
	is("Tom &amp; Jerry &lt;3 &quot;x&quot;", "Tom & Jerry <3 \"x\"");
	is("&#65;&#x42;&#x1F600;", "AB\xf0\x9f\x98\x80");
	is("caf&eacute; &bogus; &", "caf&eacute; &bogus; &");
	is("a&nbsp;b", "a\xc2\xa0"
		       "b");
	is("&#0;&#xD800;&#x110000;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	is("soft&shy;hyphen", "softhyphen");
}

Test(html_text, links_keep_their_text)
{
	is("<a href=\"https://x.example/?a=1&b=2\">the offer</a>", "the offer");
	is("<a href='x>y' title=\"a>b\">link</a>", "link");
}

Test(html_text, stray_angle_brackets_are_text)
{
	is("1 < 2 and 3 <4", "1 < 2 and 3 <4");
	is("<p", "");
	is("a <", "a <");
}
