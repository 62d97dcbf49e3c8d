"""Every reason code of the gate through LMTP, spoken with Python's
smtplib.LMTP as an MTA would: what the sender's MTA reads (250, the
brand-visible 550 5.7.1 reason, or the uniform 5.1.1 reply) and what the
person sees (the full decision)."""
import datetime
import re
import smtplib
import time

import pytest

from test_http_gate import quiet_now, rfc3339

GRANT = {"channels": {"email": {"allowed": True}},
         "topics": ["orders", "offers"]}
ASK = {"value": "v", "channels": ["email", "sms"],
       "topics": ["orders", "offers"], "fields": []}


def send(port, alias, topic="orders", frm="news@acme.example"):
    """One message over LMTP: (code, text) of the recipient's reply."""
    head = (f"From: Acme <{frm}>\r\nSubject: Hi\r\n"
            f"Message-ID: <{time.monotonic_ns()}@acme.example>\r\n")
    if topic:
        head += f"CMR-Topic: {topic}\r\n"
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as lmtp:
        try:
            refused = lmtp.sendmail(frm, [alias], head + "\r\nHello\r\n")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients[alias]
            return code, text.decode()
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
        assert refused == {}
        return 250, "accepted"


def start(make_api, *flags):
    api = make_api("--trust-envelope", "--lmtp", "127.0.0.1:0", *flags)
    port = int(re.search(r"lmtp: listening on \S+:(\d+)",
                         api.server.log()).group(1))
    ana = api.signup("ana")
    acme = api.add_brand("Acme", "acme.example")
    return api, ana, acme, port


def connect(api, ana, brand, **grant):
    return api.connect(ana, brand, ask=ASK, grant=dict(GRANT, **grant))


def last_seen(ana):
    """The person's newest attempt (lists are newest first)."""
    return ana.messages()[0]


UNIFORM = "5.1.1 <{}>: recipient not accepted"


def test_ok_and_the_refusals_of_the_relationship(make_api):
    api, ana, acme, port = start(make_api)
    rel = connect(api, ana, acme)
    cases = [
        # (topic, code, text, the person's reason)
        ("orders", 250, "accepted", "ok"),
        (None, 550, "5.7.1 topic_missing", "topic_missing"),
        ("news", 550, "5.7.1 topic_not_wanted", "topic_not_wanted"),
    ]
    for topic, code, text, reason in cases:
        assert send(port, rel.alias, topic) == (code, text)
        assert last_seen(ana)["reason"] == reason


def test_unknown_alias_and_a_stranger_get_the_uniform_reply(make_api):
    api, ana, acme, port = start(make_api)
    rel = connect(api, ana, acme)
    unknown = "acme.zzzzzzzzzzzzzzzz@relay.localhost"
    assert send(port, unknown) == (550, UNIFORM.format(unknown))
    assert ana.messages() == []
    assert send(port, rel.alias, frm="spam@evil.example") == (
        550, UNIFORM.format(rel.alias))
    leak = last_seen(ana)
    assert (leak["reason"], leak["sender"]) == ("sender_not_brand",
                                                "spam@evil.example")


def test_channel_reasons(make_api):
    api, ana, acme, port = start(make_api)
    rel = connect(api, ana, acme)
    sms_only = connect(api, ana, api.add_brand("Beta", "beta.example"),
                       channels={"sms": {"allowed": True}})
    assert send(port, sms_only.alias, frm="news@beta.example") == (
        550, "5.7.1 channel_not_permitted")
    assert last_seen(ana)["reason"] == "channel_not_permitted"
    ana.ok("PUT", "/v1/me/terms", {"do_not_contact": ["email"]})
    assert send(port, rel.alias) == (550, "5.7.1 channel_not_permitted")
    assert last_seen(ana)["reason"] == "channel_do_not_contact"


def test_caps(make_api):
    api, ana, acme, port = start(make_api)
    rel = connect(api, ana, acme, channels={"email": {
        "allowed": True, "cap": {"max": 1, "per_seconds": 3600}}})
    assert send(port, rel.alias)[0] == 250
    assert send(port, rel.alias) == (550, "5.7.1 frequency_cap")
    assert last_seen(ana)["reason"] == "frequency_cap"
    bolt = connect(api, ana, api.add_brand("Bolt", "bolt.example"))
    ana.ok("PUT", "/v1/me/terms", {"caps": {"email": {"max": 1,
                                                      "per": "day"}}})
    # Acme's delivery above fills Ana's cap over every brand.
    assert send(port, bolt.alias, frm="news@bolt.example") == (
        550, "5.7.1 not_accepted")
    assert last_seen(ana)["reason"] == "global_frequency_cap"


def test_quiet_hours_hold_and_a_full_queue(make_api):
    api, ana, acme, port = start(make_api, "--hold-queue", "1")
    rel = connect(api, ana, acme)
    quiet, end = quiet_now()
    ana.ok("PUT", "/v1/me/terms", {"quiet_hours": quiet})
    assert send(port, rel.alias) == (250, "accepted")
    held = last_seen(ana)
    assert (held["decision"], held["reason"], held["deliver_at"]) == (
        "hold", "quiet_hours", rfc3339(end))
    assert send(port, rel.alias) == (550, "5.7.1 not_accepted")
    assert last_seen(ana)["reason"] == "hold_queue_full"


def test_ended_and_expired(make_api):
    api, ana, acme, port = start(make_api)
    rel = connect(api, ana, acme)
    ana.post(f"/v1/me/relationships/{rel.id}/end")
    assert send(port, rel.alias) == (550, "5.7.1 relationship_ended")
    assert last_seen(ana)["reason"] == "relationship_ended"
    expires = int(time.time()) + 2
    at = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
    short = connect(api, ana, api.add_brand("Bolt", "bolt.example"),
                    expires_at=rfc3339(at))
    time.sleep(max(0, expires - time.time()) + 0.2)
    assert send(port, short.alias, frm="news@bolt.example") == (
        550, "5.7.1 consent_expired")
    assert last_seen(ana)["reason"] == "consent_expired"
