"""The account's own writes: changing the password and exporting
everything, both with the password again."""
from conftest import PASSWORD, assert_problem


def test_password_change(api):
    ana = api.signup("ana")
    r = ana.put("/v1/me/password", {"password": "not the password",
                                     "new_password": "a brand new one"})
    assert_problem(r, 403, "password")
    r = ana.put("/v1/me/password", {"password": PASSWORD,
                                     "new_password": "short"})
    assert_problem(r, 422, "new_password")
    r = ana.put("/v1/me/password", {"password": PASSWORD,
                                     "new_password": "a brand new one"})
    assert r.status == 204, r
    assert api.tokens("ana", PASSWORD).status == 401
    assert api.tokens("ana", "a brand new one").status == 201
    r = ana.put("/v1/me/password", {"password": "a brand new one",
                                     "extra": 1, "new_password": "x" * 12})
    assert_problem(r, 400, "extra")


def test_export_holds_everything(api):
    ana = api.signup("ana", profile={"name": "Ana Export"})
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert acme.send(rel.id, topic="orders", subject="Exported").status == 201
    assert_problem(ana.post("/v1/me/export", {"password": "wrong one!!"}),
                   403, "password")
    doc = ana.ok("POST", "/v1/me/export", {"password": PASSWORD})
    assert doc["format"] == "cmr-export-1"
    assert doc["handle"] == "ana"
    assert doc["profile"] == {"name": "Ana Export"}
    assert [r["id"] for r in doc["relationships"]] == [rel.id]
    assert [m["subject"] for m in doc["messages"]] == ["Exported"]
    types = [e["type"] for e in doc["ledger"]]
    assert "relationship.accepted" in types
    assert doc["ledger_head"].startswith("cmr ledger ")


def test_a_password_change_ends_every_other_session_and_token(api):
    """Whoever knew the old password is out; the one asking stays in."""
    from conftest import Person
    ana = api.signup("ana")
    other = Person(api, "ana", PASSWORD, ana.id)  # a second token
    r = api.call("POST", "/v1/session", {"handle": "ana",
                                         "password": PASSWORD})
    cookie = r.headers["Set-Cookie"].split(";")[0]
    assert api.call("GET", "/v1/me/profile",
                    headers={"Cookie": cookie}).status == 200
    r = ana.put("/v1/me/password", {"password": PASSWORD,
                                     "new_password": "a brand new one"})
    assert r.status == 204, r
    assert ana.call("GET", "/v1/me/profile").status == 200
    assert other.call("GET", "/v1/me/profile").status == 401
    assert api.call("GET", "/v1/me/profile",
                    headers={"Cookie": cookie}).status == 401
    # From a browser session, the session itself stays.
    r = api.call("POST", "/v1/session", {"handle": "ana",
                                         "password": "a brand new one"})
    cookie = r.headers["Set-Cookie"].split(";")[0]
    r = api.call("PUT", "/v1/me/password",
                 {"password": "a brand new one",
                  "new_password": "and another one"},
                 headers={"Cookie": cookie, "X-CMR-CSRF": "1"})
    assert r.status == 204, r
    assert api.call("GET", "/v1/me/profile",
                    headers={"Cookie": cookie}).status == 200
    assert ana.call("GET", "/v1/me/profile").status == 401
