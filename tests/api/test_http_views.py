"""What people and brands see of each other, and folder names.

- A person's lists name the brand: proposals and relationships with what
  the operator registered (`cmr brand add`: domains, policy URL, contact)
  and the value offered, messages with {"id","name"}; a brand's views gain
  nothing.
- A brand proposes once: a second proposal while a relationship is open or
  a proposal pending is a 409 that records nothing.
- Folder names compare without case, the first spelling kept; any case of
  inbox and later names the built-in folder.
"""
import pytest

from conftest import ASK, GRANT, assert_problem, assert_schema

ACME_FLAGS = ("--domain", "shop.acme.example", "--contact", "Privacy Team",
              "--email", "privacy@acme.example", "--phone", "+4930123456",
              "--address", "1 Main St, Berlin", "--url",
              "https://acme.example", "--policy-url",
              "https://acme.example/privacy")

ACME_CARD = {"name": "Acme", "domains": ["acme.example", "shop.acme.example"],
             "policy_url": "https://acme.example/privacy",
             "contact": {"name": "Privacy Team",
                         "email": "privacy@acme.example",
                         "phone": "+4930123456",
                         "address": "1 Main St, Berlin",
                         "url": "https://acme.example"}}
BARE_CONTACT = {"name": None, "email": None, "phone": None, "address": None,
                "url": None}


def acme_brand(api):
    """Acme registered with every controller detail and two domains."""
    from conftest import Brand
    b = api.ctx.add_brand("Acme", "acme.example", extra=ACME_FLAGS)
    return Brand(api, "Acme", b["id"], b["api_key"])


# --- 1. lists name the brand ---------------------------------------------


def test_proposals_show_the_brand_and_the_value(api):
    ana = api.signup("ana", profile={"name": "Ana Lima"})
    acme = acme_brand(api)
    bolt = api.add_brand("Bolt")
    prp = api.propose(ana, acme)
    bolt_prp = api.propose(ana, bolt, dict(ASK, value="free delivery"))
    items = {p["id"]: p for p in ana.all("/v1/me/proposals")}
    assert set(items) == {prp, bolt_prp}
    for p in items.values():
        assert_schema(p, "PersonProposal")
    assert items[prp]["brand"] == dict(ACME_CARD, id=acme.id)
    assert items[prp]["value"] == ASK["value"]
    # A brand registered with a domain only: the rest is null.
    assert items[bolt_prp]["brand"] == {
        "id": bolt.id, "name": "Bolt", "domains": ["bolt.example"],
        "policy_url": None, "contact": BARE_CONTACT}
    assert items[bolt_prp]["value"] == "free delivery"
    # One proposal, as the list shows it.
    for pid, item in items.items():
        one = ana.ok("GET", f"/v1/me/proposals/{pid}")
        assert_schema(one, "PersonProposal")
        assert one == item
    # The brand follows its proposal as before: nothing of the person, no
    # brand card.
    seen = acme.ok("GET", f"/v1/proposals/{prp}")
    assert_schema(seen, "Proposal")
    assert "brand" not in seen and ana.id not in str(seen)


def test_relationships_repeat_the_value_and_messages_name_the_brand(api):
    ana = api.signup("ana", profile={"name": "Ana Lima"})
    acme = acme_brand(api)
    rel = api.connect(ana, acme)
    brand_view = acme.ok("GET", f"/v1/relationships/{rel.id}")
    listed = ana.all("/v1/me/relationships")
    assert len(listed) == 1
    one = ana.ok("GET", f"/v1/me/relationships/{rel.id}")
    for r in (listed[0], one):
        assert_schema(r, "Relationship")
        assert r["brand"] == dict(ACME_CARD, id=acme.id)
        assert r["value"] == ASK["value"]
    assert listed[0] == one
    # After the end too.
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    ended = ana.ok("GET", f"/v1/me/relationships/{rel.id}")
    assert ended["value"] == ASK["value"] and ended["state"] == "ended"

    bob = api.signup("bob")
    rel2 = api.connect(bob, acme)
    assert acme.send(rel2.id).status == 201
    msgs = bob.messages()
    assert len(msgs) == 1
    assert_schema(msgs[0], "Attempt")
    assert msgs[0]["brand"] == {"id": acme.id, "name": "Acme"}
    # The brand's own view gained nothing.
    assert set(brand_view) == {"id", "alias", "state", "terms", "fields"}
    again = acme.ok("GET", f"/v1/relationships/{rel2.id}")
    assert set(again) == set(brand_view)
    assert "value" not in str(acme.ok("GET", "/v1/relationships"))


def test_another_persons_proposal_is_404_and_nothing_recorded(api):
    ana = api.signup("ana")
    bob = api.signup("bob")
    acme = acme_brand(api)
    bob_prp = api.propose(bob, acme)
    ana_prp = api.propose(ana, acme)
    before = (ana.snapshot(), bob.snapshot())
    # (Made-up and malformed ids: test_http_authz, for every route.)
    assert_problem(ana.get(f"/v1/me/proposals/{bob_prp}"), 404)
    # A brand's key on the person's route is the wrong role.
    assert_problem(acme.get(f"/v1/me/proposals/{ana_prp}"), 403)
    assert (ana.snapshot(), bob.snapshot()) == before


# --- 2. a brand proposes once ---------------------------------------------


def test_a_second_proposal_is_409_and_records_nothing(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    bolt = api.add_brand("Bolt")
    rel = api.connect(ana, acme)
    before = ana.snapshot()
    code = api.code(ana)
    r = acme.post("/v1/proposals", dict(ASK, connect_code=code))
    body = assert_problem(r, 409, "connect_code")
    assert "relationship" in body["detail"]
    assert ana.snapshot() == before
    # The code was not used up: another brand may still use it.
    r = bolt.post("/v1/proposals", dict(ASK, connect_code=code))
    assert r.status == 201, r.body
    bolt_prp = r.json()["id"]

    # A pending proposal: the same brand cannot propose again ...
    code = api.code(ana)
    before = ana.snapshot()
    body = assert_problem(
        bolt.post("/v1/proposals", dict(ASK, connect_code=code)), 409,
        "connect_code")
    assert "pending" in body["detail"]
    assert ana.snapshot() == before
    # ... until the person declines it.
    ana.ok("POST", f"/v1/me/proposals/{bolt_prp}/decline")
    assert bolt.post("/v1/proposals",
                     dict(ASK, connect_code=code)).status == 201

    # Once the relationship has ended, the brand may propose again, and
    # the person may accept.
    ana.ok("POST", f"/v1/me/relationships/{rel.id}/end")
    again = api.connect(ana, acme)
    assert again.id != rel.id
    states = {r["id"]: r["state"] for r in ana.all("/v1/me/relationships")}
    assert states == {rel.id: "ended", again.id: "active"}


def test_409_is_per_person_and_per_brand(api):
    ana = api.signup("ana")
    bob = api.signup("bob")
    acme = api.add_brand("Acme")
    bolt = api.add_brand("Bolt")
    api.connect(ana, acme)
    api.propose(bob, bolt)
    # Acme may still propose to Bob, and Bolt to Ana.
    api.propose(bob, acme)
    api.propose(ana, bolt)
    # A bad code is still a 404, whoever it would have been.
    assert_problem(acme.post("/v1/proposals",
                             dict(ASK, connect_code="AAAA-AAAA-AAAA")), 404)


# --- 3. folder names without case ----------------------------------------


def folders_of(person):
    """The person's own folders, as their export lists them (the store
    keeps them sealed)."""
    return person.ok("POST", "/v1/me/export",
                     {"password": person.password})["folders"]


def test_folder_names_compare_without_case(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    bolt = api.add_brand("Bolt")
    rel = api.connect(ana, acme, grant=dict(GRANT, folder="Receipts"))
    assert rel.terms["folder"] == "Receipts"
    # Another relationship names the same folder in another case: one
    # folder, shown as first spelt, in the terms too.
    rel2 = api.connect(ana, bolt, grant=dict(
        GRANT, folder="receipts", topics=["orders", "offers"],
        topic_folders={"offers": "RECEIPTS"}))
    assert rel2.terms["folder"] == "Receipts"
    assert rel2.terms["topic_folders"] == {"offers": "Receipts"}
    assert acme.send(rel.id, subject="one").status == 201
    assert bolt.send(rel2.id, subject="two").status == 201
    for q in ("Receipts", "receipts", "rEcEiPtS"):
        got = ana.messages(f"folder={q}")
        assert sorted(m["subject"] for m in got) == ["one", "two"], q
        assert {m["folder"] for m in got} == {"Receipts"}
    # PUT and PATCH of terms spell it the same way.
    t = ana.ok("PUT", f"/v1/me/relationships/{rel.id}/terms",
               dict(GRANT, folder="RECEIPTS"))
    assert t["folder"] == "Receipts"
    r = ana.call("PATCH", f"/v1/me/relationships/{rel.id}/terms",
                 {"folder": "Work"})
    assert r.status == 200, r.body
    assert r.json()["folder"] == "Work"
    # Moving a message: any case of a folder, and of the built-ins.
    one = [m for m in ana.messages() if m["subject"] == "one"][0]
    r = ana.ok("PATCH", f"/v1/me/messages/{one['id']}", {"folder": "WORK"})
    assert r["folder"] == "WORK"
    assert ana.message(one["id"])["folder"] == "Work"
    ana.ok("PATCH", f"/v1/me/messages/{one['id']}", {"folder": "Inbox"})
    assert ana.message(one["id"])["folder"] == "inbox"
    assert [m["id"] for m in ana.messages("folder=INBOX")] == [one["id"]]
    ana.ok("PATCH", f"/v1/me/messages/{one['id']}", {"folder": "LATER"})
    assert ana.message(one["id"])["folder"] == "later"
    assert [m["id"] for m in ana.messages("folder=Later")] == [one["id"]]
    # Emptying, in any case.
    r = ana.ok("POST", "/v1/me/folders/RECEIPTS/empty")
    assert r["deleted"] == 1
    assert ana.messages("folder=receipts") == []
    r = ana.ok("POST", "/v1/me/folders/Later/empty")
    assert r["deleted"] == 1
    # One list of folders, no built-in among the person's own.
    assert folders_of(ana) == ["Receipts", "Work"]


def test_built_in_folders_in_terms_any_case(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme, grant=dict(
        GRANT, folder="LATER", topics=["orders", "offers"],
        topic_folders={"orders": "Inbox"}))
    assert rel.terms["folder"] == "later"
    assert rel.terms["topic_folders"] == {"orders": "inbox"}
    assert_schema(rel.terms, "Terms")
    assert acme.send(rel.id, topic="offers", subject="o").status == 201
    assert acme.send(rel.id, topic="orders", subject="i").status == 201
    assert [m["subject"] for m in ana.messages("folder=later")] == ["o"]
    assert [m["subject"] for m in ana.messages("folder=inbox")] == ["i"]
    assert folders_of(ana) == []


@pytest.mark.parametrize("bad", ["a/b", "a.b", "", "x" * 65])
def test_bad_folder_names_are_still_refused(api, bad):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    prp = api.propose(ana, acme)
    before = ana.snapshot()
    r = ana.post(f"/v1/me/proposals/{prp}/accept", dict(GRANT, folder=bad))
    assert_problem(r, 422, "folder")
    assert ana.snapshot() == before


def test_another_persons_folder_is_404_in_any_case(api):
    ana = api.signup("ana")
    bob = api.signup("bob")
    acme = api.add_brand("Acme")
    bolt = api.add_brand("Bolt")
    api.connect(ana, acme)
    bob_rel = api.connect(bob, bolt, grant=dict(GRANT, folder="Bobs"))
    assert bolt.send(bob_rel.id).status == 201
    before = (ana.snapshot(), bob.snapshot())
    for name in ("bobs", "BOBS", "Bobs"):
        assert_problem(ana.post(f"/v1/me/folders/{name}/empty"), 404)
        assert_problem(ana.get(f"/v1/me/messages?folder={name}"), 404)
    assert (ana.snapshot(), bob.snapshot()) == before
    assert len(bob.messages("folder=bobs")) == 1
