"""Consent receipts (JWS over JCS Kantara records, and the DPV history),
the operator's /metrics, and the OpenAPI document, through the real
server."""
import base64
import json
import re

from conftest import http
from ledger_model import ed25519_sign, jcs, read_seed


def _b64(data):
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def test_receipts_one_per_consent_event(api):
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert rel.put_terms({"channels": {"email": {"allowed": True}},
                          "topics": ["orders"]}).status == 200
    assert ana.post(f"/v1/me/relationships/{rel.id}/end").status == 200
    items = ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts")["items"]
    assert [i["type"] for i in items] == [
        "relationship.accepted", "terms.changed", "relationship.ended"]
    seed = read_seed(api.ctx.root / "keys")
    for item in items:
        record = item["record"]
        assert record["version"] == "KI-CR-v1.1.0"
        assert record["piiPrincipalId"] == rel.alias
        assert record["piiControllers"][0]["piiController"] == "Acme"
        assert record["consentReceiptID"] == item["id"]
        header, payload, sig = item["receipt"].split(".")
        assert json.loads(_b64(header))["alg"] == "EdDSA"
        # The payload is the JCS of the record, and the signature is this
        # server's Ed25519 signature (deterministic: recomputed here).
        assert _b64(payload) == jcs(record)
        assert _b64(sig) == ed25519_sign(
            seed, f"{header}.{payload}".encode())
    ended = items[-1]["record"]["services"][0]["purposes"]
    assert ended == []
    accepted = items[0]["record"]["services"][0]["purposes"][0]
    assert accepted["consentType"] == "EXPLICIT"
    assert "4 - Contact Requested" in accepted["purposeCategory"]
    dpv = ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts?format=dpv")
    statuses = [r["dpv:hasConsentStatus"]["@id"] for r in dpv["@graph"]]
    assert statuses == ["dpv:ConsentRequested", "dpv:ConsentGiven",
                        "dpv:ConsentGiven", "dpv:ConsentWithdrawn"]
    r = ana.get(f"/v1/me/relationships/{rel.id}/receipts?format=xml")
    assert r.status == 400


def test_jurisdiction_is_the_brands_else_the_operators(make_api):
    api = make_api("--operator-jurisdiction", "EU")
    ana = api.signup("ana")
    acme = api.add_brand("Acme")  # gave none
    beta = Brand_with_jurisdiction(api, "Beta", "US-CA")
    for brand, want in ((acme, "EU"), (beta, "US-CA")):
        rel = api.connect(ana, brand)
        items = ana.ok("GET",
                       f"/v1/me/relationships/{rel.id}/receipts")["items"]
        assert [i["record"]["jurisdiction"] for i in items] == [want]


def Brand_with_jurisdiction(api, name, jurisdiction):
    from conftest import Brand
    b = api.ctx.add_brand(name, f"{name.lower()}.example",
                          extra=("--jurisdiction", jurisdiction))
    return Brand(api, name, b["id"], b["api_key"])


def test_dpv_terms_resolve_to_the_servers_vocabulary(api):
    """The cmr prefix of the DPV records is a namespace this server
    publishes: every cmr: term a record uses is defined there."""
    ana = api.signup("ana")
    rel = api.connect(ana, api.add_brand("Acme"))
    dpv = ana.ok("GET", f"/v1/me/relationships/{rel.id}/receipts?format=dpv")
    ns = dpv["@context"]["cmr"]
    assert ns == f"http://{api.server.address}/ns/cmr#"
    used = {k[4:] for rec in dpv["@graph"] for k in rec
            if k.startswith("cmr:")}
    assert used >= {"ledgerSeq", "channels", "personalData"}
    r = http("GET", ns[:-1])
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/ld+json")
    vocab = r.json()
    assert vocab["@context"]["cmr"] == ns
    defined = {t["@id"][4:]: t for t in vocab["@graph"]}
    assert used <= set(defined)
    for t in defined.values():
        assert t["@type"] == "rdf:Property"
        assert t["rdfs:label"] and t["rdfs:comment"]
    # A Host that is not a host name does not make a broken IRI.
    r = http("GET", ns[:-1], headers={"Host": "evil\"><x"})
    assert r.json()["@context"]["cmr"] == "http://localhost/ns/cmr#"


def test_metrics_on_their_own_listener(make_api):
    api = make_api("--metrics", "127.0.0.1:0")
    m = re.search(r"metrics: listening on (\S+):(\d+)", api.server.log())
    assert m, api.server.log()
    ana = api.signup("ana")
    acme = api.add_brand("Acme")
    rel = api.connect(ana, acme)
    assert acme.send(rel.id, topic="orders").status == 201
    assert acme.send(rel.id, channel="sms").status == 201
    text = http("GET", f"http://{m.group(1)}:{m.group(2)}/metrics").body
    text = text.decode()
    assert ('cmr_http_requests_total{route="POST /v1/messages",'
            'status="201"} 2') in text
    assert ('cmr_decisions_total{outcome="deliver",reason="ok"} 1'
            in text)
    assert ('cmr_decisions_total{outcome="refuse",'
            'reason="channel_not_permitted"} 1') in text
    assert re.search(r"^cmr_writer_batches_total [1-9]", text, re.M)
    # Never on the API listener.
    assert api.call("GET", "/metrics").status == 404


def test_openapi_document_is_served(api):
    r = api.call("GET", "/v1/openapi.json")
    assert r.status == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    assert "post" in doc["paths"]["/v1/messages"]
    assert "get" in doc["paths"]["/v1/me/relationships/{id}/receipts"]
