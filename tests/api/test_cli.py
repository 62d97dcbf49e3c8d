"""The command line: init, person, brand, usage and
settings, the keys directory, migrate."""
import json
import re
import stat
from pathlib import Path

import pytest

from conftest import ON_POSTGRESQL

PER_ID = re.compile(r"^per_[0-9a-z]{16,}$")
BRD_ID = re.compile(r"^brd_[0-9a-z]{16,}$")
API_KEY = re.compile(r"cmrk_[0-9A-Za-z_-]{20,}")
KEY_ID = re.compile(r"signing key id ([0-9a-f]{8,})")

PASSWORD = "Tr0ub4dor&3-unique-pw"


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


# --- init --------------------------------------------------------------

def test_init_makes_private_keys_even_under_umask_0(ctx):
    ctx.ok("init", umask=0)
    assert mode(ctx.keys) == 0o700
    files = sorted(p.name for p in ctx.keys.iterdir())
    assert "signing.key" in files and len(files) >= 2, files
    for p in ctx.keys.iterdir():
        assert mode(p) == 0o600, (p.name, oct(mode(p)))
    assert ctx.store_made()


def test_second_init_keeps_the_key(ctx):
    first = ctx.ok("init")
    before = {p.name: p.read_bytes() for p in ctx.keys.iterdir()}
    second = ctx.ok("init")
    id1 = KEY_ID.search(first.out).group(1)
    id2 = KEY_ID.search(second.out).group(1)
    assert id1 == id2
    assert {p.name: p.read_bytes() for p in ctx.keys.iterdir()} == before


# --- person ------------------------------------------------------------

def test_person_add_json_shape_and_lower_case(inited):
    made = inited.add_person("Alice")
    assert set(made) == {"id", "handle"}
    assert PER_ID.match(made["id"]), made
    assert made["handle"] == "alice"


def test_person_add_plain_prints_what_it_made(inited):
    r = inited.ok("person", "add", "Bob", "--password-stdin",
                  input=PASSWORD + "\n")
    assert "bob" in r.out
    assert inited.persons()["bob"] in r.out


@pytest.mark.parametrize("password, rc", [("Kite-Rain-4", 1),
                                          ("Kite-Rain-42", 0)])
def test_password_minimum_length(inited, password, rc):
    r = inited.run("person", "add", "carol", "--password-stdin",
                   input=password + "\n")
    assert r.rc == rc, r
    assert ("carol" in inited.persons()) == (rc == 0)
    if rc:
        assert re.search(r"\b12\b", r.err), r.err  # states the minimum


@pytest.mark.parametrize("password, says", [
    ("Password2024!", "dictionary word"),
    ("P@ssw0rd1234", "dictionary word"),
    ("iloveyou1234", "dictionary word"),
    ("123456789012", "simplistic"),
    ("aaaaaaaaaaaaaaaa", ""),
    ("carol-secret-1", "user name"),
])
def test_guessable_passwords_are_refused_with_the_reason(inited, password,
                                                         says):
    r = inited.run("person", "add", "carol", "--password-stdin",
                   input=password + "\n")
    assert r.rc == 1, r
    assert "too easy to guess" in r.err and says in r.err, r.err
    assert "carol" not in inited.persons()


def test_empty_password_is_refused(inited):
    r = inited.run("person", "add", "carol", "--password-stdin", input="")
    assert r.rc == 1 and "carol" not in inited.persons()


@pytest.mark.parametrize("handle", [
    "b ad", "_under", "x", "a" * 33, "Zoë", "semi;colon", "a/b"])
def test_bad_handle(inited, handle):
    r = inited.run("person", "add", handle, "--password-stdin",
                   input=PASSWORD + "\n")
    assert r.rc == 1, r
    assert "handle" in r.err
    assert inited.persons() == {}


def test_duplicate_handle_ignores_case(inited):
    inited.add_person("dana")
    r = inited.run("person", "add", "DANA", "--password-stdin",
                   input=PASSWORD + "\n")
    assert r.rc == 1, r
    assert "taken" in r.err
    assert list(inited.persons()) == ["dana"]


def test_person_add_without_password_stdin_is_usage(inited):
    r = inited.run("person", "add", "erin")
    assert r.rc == 2, r
    assert "--password-stdin" in r.err
    assert inited.persons() == {}


def test_password_is_never_shown_nor_stored_plain(inited):
    runs = [
        inited.run("person", "add", "frank", "--password-stdin", "--json",
                   input=PASSWORD + "\n"),
        inited.run("person", "add", "grace", "--password-stdin",
                   input=PASSWORD + "\n"),
        inited.run("person", "add", "frank", "--password-stdin",  # taken
                   input=PASSWORD + "\n"),
        inited.run("person", "list"),
        inited.run("person", "list", "--json"),
    ]
    assert [r.rc for r in runs] == [0, 0, 1, 0, 0]
    for r in runs:
        assert PASSWORD not in r.text
    assert PASSWORD.encode() not in inited.store_bytes()


def test_person_list(inited):
    assert inited.json("person", "list") == {"items": []}
    a = inited.add_person("hana")
    b = inited.add_person("ivan")
    items = inited.json("person", "list")["items"]
    assert {(p["id"], p["handle"]) for p in items} == {
        (a["id"], "hana"), (b["id"], "ivan")}
    plain = inited.ok("person", "list").out
    for p in (a, b):
        assert re.search(rf"{p['id']}\s+{p['handle']}", plain), plain


# --- brand -------------------------------------------------------------

CONTROLLER = {
    "contact": "Jo Doe", "email": "dpo@acme.example", "phone": "+12025550100",
    "address": "1 Main St, Springfield", "url": "https://acme.example",
    "policy_url": "https://acme.example/privacy", "jurisdiction": "US",
}


def controller_flags(c):
    flags = []
    for k, v in c.items():
        flags += ["--" + k.replace("_", "-"), v]
    return flags


def test_brand_add_json_shape(inited):
    made = inited.add_brand("Acme", "acme.example")
    assert set(made) == {"id", "api_key"}
    assert BRD_ID.match(made["id"]), made
    assert API_KEY.fullmatch(made["api_key"]), made


def test_brand_add_plain_shows_key(inited):
    r = inited.ok("brand", "add", "Acme", "--domain", "acme.example")
    (brand,) = inited.json("brand", "list")["items"]
    assert brand["id"] in r.out
    assert API_KEY.search(r.out), r.out


def test_brand_add_needs_a_domain(inited):
    r = inited.run("brand", "add", "Acme")
    assert r.rc == 2, r
    assert "--domain" in r.err
    assert inited.json("brand", "list")["items"] == []


@pytest.mark.parametrize("domain", [
    "bad domain", "a..example", "-lead.example", "under_score.example",
    "http://x.example", "x@y.example", "a" * 64 + ".example", ""])
def test_brand_add_bad_domain(inited, domain):
    r = inited.run("brand", "add", "Acme", "--domain", domain)
    assert r.rc == 1, r
    assert "domain" in r.err
    assert inited.json("brand", "list")["items"] == []


@pytest.mark.parametrize("flag, value, says", [
    ("--url", "http://acme.example", "https://"),
    ("--policy-url", "javascript:alert(1)", "https://"),
    ("--policy-url", "https://evil@acme.example/", "https://"),
    ("--email", "dpo at acme", "email address"),
    ("--phone", "+1 555 0100", "E.164"),
    ("--contact", "Jo\x1bDoe", "control"),
])
def test_brand_controller_details_are_checked(inited, flag, value, says):
    r = inited.run("brand", "add", "Acme", "--domain", "acme.example",
                   flag, value)
    assert r.rc == 1, r
    assert says in r.err and flag[2:].replace("-", "_") in r.err, r.err
    assert inited.json("brand", "list")["items"] == []


def test_brand_add_duplicate_name(inited):
    inited.add_brand("Acme", "acme.example")
    r = inited.run("brand", "add", "Acme", "--domain", "other.example")
    assert r.rc == 1, r
    assert len(inited.json("brand", "list")["items"]) == 1


def test_brand_list_shows_domains_and_controller(inited):
    acme = inited.add_brand("Acme", "acme.example", "Mail.Acme.example",
                            extra=controller_flags(CONTROLLER))
    beta = inited.add_brand("Beta", "beta.example")
    items = {b["id"]: b for b in inited.json("brand", "list")["items"]}
    assert set(items) == {acme["id"], beta["id"]}
    a = items[acme["id"]]
    assert a["name"] == "Acme"
    assert sorted(a["domains"]) == ["acme.example", "mail.acme.example"]
    assert a["controller"] == CONTROLLER
    assert items[beta["id"]]["domains"] == ["beta.example"]
    plain = inited.ok("brand", "list").out
    assert re.search(rf"{acme['id']}\s+Acme\s.*acme\.example", plain), plain
    assert "mail.acme.example" in plain and "beta.example" in plain
    for r in (inited.ok("brand", "list"), inited.ok("brand", "list", "--json")):
        assert acme["api_key"] not in r.out


def test_key_rotate_by_id_and_by_name(inited):
    made = inited.add_brand("Acme", "acme.example")
    by_id = inited.json("brand", "key", "rotate", made["id"])
    assert by_id["id"] == made["id"]
    assert API_KEY.fullmatch(by_id["api_key"])
    by_name = inited.ok("brand", "key", "rotate", "Acme")
    assert made["id"] in by_name.out
    keys = [made["api_key"], by_id["api_key"],
            API_KEY.search(by_name.out).group(0)]
    assert len(set(keys)) == 3, keys


def test_key_rotate_unknown_brand(inited):
    inited.add_brand("Acme", "acme.example")
    for who in ("Nope", "brd_0000000000000000"):
        r = inited.run("brand", "key", "rotate", who)
        assert r.rc == 1, r
        assert who in r.err


def test_api_keys_are_stored_only_hashed(inited):
    keys = [inited.add_brand("Acme", "acme.example")["api_key"],
            inited.add_brand("Beta", "beta.example")["api_key"]]
    keys.append(inited.json("brand", "key", "rotate", "Acme")["api_key"])
    data = inited.store_bytes()
    assert b"beta.example" in data  # the scan does see what was written
    for k in keys:
        secret = k.split("_", 2)[2]  # the part after cmrk_<id>_
        assert len(secret) >= 20
        assert k.encode() not in data
        assert secret.encode() not in data


# --- usage, --help, settings -------------------------------------------

def test_unknown_command_is_usage(cmr):
    rc, out, err = cmr("frobnicate")
    assert rc == 2
    assert "frobnicate" in err and "usage:" in err


@pytest.mark.parametrize("args", [
    ["person", "list", "--frobnicate"],
    ["brand", "list", "--frobnicate"],
    ["init", "--frobnicate"],
    ["person", "frobnicate"],
])
def test_unknown_option_or_subcommand_is_usage(cmr, args):
    rc, out, err = cmr(*args)
    assert rc == 2
    assert "frobnicate" in err and "usage:" in err


@pytest.mark.parametrize("args", [
    [], ["init"], ["serve"], ["migrate"], ["demo"], ["person"],
    ["person", "add"], ["person", "list"], ["brand"], ["brand", "add"],
    ["brand", "list"], ["brand", "key", "rotate"], ["ledger"],
    ["ledger", "verify"], ["bench"], ["bench", "gate"], ["bench", "lmtp"],
    ["export"]])
def test_help_everywhere(cmr, ctx, args):
    rc, out, err = cmr(*args, "--help")
    assert rc == 0, err
    assert out.startswith("usage: cmr " + (args[0] if args else "")), out
    assert err == ""
    assert not ctx.keys.exists() and not ctx.store_made()


BAD_SETTINGS = [
    ("--http", "nonsense"), ("--http", "127.0.0.1:99999"),
    ("--hold-queue", "0"), ("--hold-queue", "abc"), ("--hold-queue", "-5"),
    ("--alias-domain", "bad domain"), ("--store", "/tmp/cmr.db"),
    ("--lmtp", "nowhere"), ("--metrics", "x"), ("--smarthost", "x"),
]


def path_vars(ctx):
    return {"CMR_STORE": ctx.store, "CMR_KEYS": str(ctx.keys)}


def env_name(flag):
    return "CMR_" + flag[2:].upper().replace("-", "_")


@pytest.mark.parametrize("flag, value", BAD_SETTINGS)
def test_bad_setting_flag_is_usage(inited, flag, value):
    # Store and keys come from the environment, so the flag is the only
    # --store on the line (and a bad flag beats a good variable).
    r = inited.run("person", "list", flag, value, env=path_vars(inited),
                   paths=False)
    assert r.rc == 2, r
    assert flag in r.err


@pytest.mark.parametrize("flag, value", BAD_SETTINGS)
def test_bad_setting_variable_is_usage(inited, flag, value):
    env = {**path_vars(inited), env_name(flag): value}
    r = inited.run("person", "list", env=env, paths=False)
    assert r.rc == 2, r
    assert env_name(flag) in r.err


def test_variables_are_read(inited):
    made = inited.add_person("jane")
    r = inited.run("person", "list", "--json", env=path_vars(inited),
                   paths=False)
    assert r.rc == 0, r
    assert json.loads(r.out)["items"][0]["id"] == made["id"]


def test_flag_wins_over_variable(inited, tmp_path_factory):
    made = inited.add_person("kim")
    other = tmp_path_factory.mktemp("other")
    env = {"CMR_HOLD_QUEUE": "0", "CMR_HTTP": "nonsense",
           "CMR_STORE": "sqlite:" + str(other / "cmr.db"),
           "CMR_KEYS": str(other / "keys")}
    r = inited.run("person", "list", "--json", "--hold-queue", "5",
                   "--http", "127.0.0.1:1", env=env)  # paths=True: flags
    assert r.rc == 0, r
    assert json.loads(r.out)["items"][0]["id"] == made["id"]


ALL_SETTINGS = [
    "--http", "127.0.0.1:8999", "--lmtp", "unix:lmtp.sock",
    "--policy", "off", "--metrics", "127.0.0.1:9999",
    "--alias-domain", "relay.example", "--auth-id", "mx.example",
    "--trust-envelope", "--maildir-root", "maildir",
    "--smarthost", "smtp.example:25", "--open-registration",
    "--hold-queue", "7", "--allow-private-targets",
]


@pytest.mark.parametrize("args, expect", [
    (["init"], r"signing key id"),
    (["migrate"], r"applied 0 migrations"),
    (["person", "list", "--json"], r'^\{"items":\[\]\}$'),
    (["brand", "list", "--json"], r'^\{"items":\[\]\}$'),
    (["ledger", "verify"], r"^ok\b"),
    (["demo", "--if-empty"], r"msg_\w+ +deliver"),
    (["bench", "gate", "--relationships", "1000", "--decisions", "1000",
      "--json"], r'"bench":\s*"gate"')])
def test_every_setting_is_accepted_by_every_command(inited, args, expect):
    r = inited.ok(*args, *ALL_SETTINGS)
    assert re.search(expect, r.out.strip(), re.M), r.out


# --- the keys directory ------------------------------------------------

KEYED_COMMANDS = [
    ["person", "list"], ["person", "add", "lee", "--password-stdin"],
    ["brand", "list"], ["brand", "add", "Acme", "--domain", "acme.example"],
    ["brand", "key", "rotate", "Acme"], ["ledger", "verify"]]


@pytest.mark.parametrize("args", KEYED_COMMANDS)
def test_missing_keys_suggest_init(ctx, args):
    r = ctx.run(*args, input=PASSWORD + "\n")
    assert r.rc == 1, r
    assert "cmr init" in r.err
    assert str(ctx.keys) in r.err
    assert not ctx.keys.exists()


def test_missing_keys_hint_is_said_once(ctx):
    r = ctx.run("person", "list")
    assert r.rc == 1
    assert r.err.count("cmr init") == 1, r.err


@pytest.mark.parametrize("damage", ["corrupt key file", "loose mode"])
def test_broken_keys_do_not_suggest_init(inited, damage):
    """`cmr init` refuses existing keys, so suggesting it would mislead."""
    if damage == "corrupt key file":
        (inited.keys / "signing.key").write_text("garbage\n")
    else:
        inited.keys.chmod(0o755)
    r = inited.run("person", "list")
    assert r.rc == 1, r
    assert "cmr init" not in r.err, r.err
    assert inited.run("init").rc == 1  # init would not help either


# --- migrate -----------------------------------------------------------

def test_migrate_is_idempotent(ctx):
    first = ctx.ok("migrate")
    schema = Path(__file__).resolve().parents[2] / "src/store/schema"
    if ON_POSTGRESQL:
        schema = schema / "pg"
    n = len(list(schema.glob("[0-9][0-9][0-9]_*.sql")))
    assert re.search(rf"\bapplied {n} migrations?\b", first.out), first.out
    second = ctx.ok("migrate")
    assert re.search(r"\bapplied 0 migrations\b", second.out), second.out


def test_init_migrates(inited):
    r = inited.ok("migrate")
    assert re.search(r"\bapplied 0 migrations\b", r.out), r.out


def test_export_needs_the_persons_password(inited):
    """`cmr export HANDLE --password-stdin`: the same document as
    POST /v1/me/export; an unknown handle and a wrong password read the
    same."""
    inited.ok("person", "add", "ana", "--password-stdin",
              input="correct-horse-battery\n")
    r = inited.run("export", "ana", "--password-stdin",
                   input="correct-horse-battery\n")
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["format"] == "cmr-export-1" and doc["handle"] == "ana"
    assert doc["ledger_head"].startswith("cmr ledger ")
    wrong = inited.run("export", "ana", "--password-stdin",
                       input="not the password\n")
    unknown = inited.run("export", "nobody", "--password-stdin",
                         input="correct-horse-battery\n")
    assert wrong.rc == unknown.rc == 1
    assert wrong.err == unknown.err
    assert "correct-horse-battery" not in wrong.err + unknown.err
    assert inited.run("export", "ana").rc == 2
    assert inited.run("export").rc == 2
    assert inited.run("export", "--help").rc == 0


def test_bench_lmtp_delivers_every_message(ctx):
    """`cmr bench lmtp`: sessions pipelining into its own LMTP door on a
    store of its own (SQLite), or on the empty database --store names
    (PostgreSQL); it fails unless every message was accepted. (The figure
    is measured by `make bench`, not checked here.)"""
    r = ctx.ok("bench", "lmtp", "--messages", "60", "--sessions", "3",
               "--size", "2000")
    got = json.loads(r.out)
    assert (got["bench"], got["unit"], got["messages"], got["sessions"]) == (
        "lmtp", "messages/s", 60, 3)
    assert got["value"] > 0
    assert ctx.run("bench", "lmtp", "--sessions", "0").rc == 2


def test_bench_campaign_decides_in_few_statements(ctx):
    """`cmr bench campaign` (a store of its own, or the empty database
    --store names) decides every recipient, cold then warm. On
    PostgreSQL, where a statement is a round trip, a chunk of recipients
    costs a few statements, cold or warm (their relationships, persons
    and deliveries read in one each, their persons guarded in one, their
    attempts written by one COPY), not a few each, and the set-up's rows
    go by COPY; SQLite, in process, counts none."""
    r = ctx.ok("bench", "campaign", "--relationships", "300", "--json")
    got = json.loads(r.out)
    assert (got["relationships"], got["recipients"]) == (300, 300)
    # The gate state the cold campaign loaded stays: the heap in use grew
    # (whatever the set-up freed; null where a sanitizer's allocator
    # replaces glibc's); each step took some of the CPU.
    heap = got["heap_bytes_per_relationship"]
    assert heap is None or heap > 0, got
    assert all(got[k] >= 0 for k in ("setup_cpu_seconds",
                                     "cold_cpu_seconds", "cpu_seconds")), got
    per = (got["setup_statements_per_relationship"],
           got["cold_statements_per_recipient"],
           got["statements_per_recipient"])
    if ON_POSTGRESQL:
        assert max(per) < 0.1, got
        # The persons set up in bulk have their handles in the directory
        # (pg/002_person_keys.sql) as one by one.
        with ctx.sql() as db:
            persons, handles = db.execute(
                "SELECT count(*), count(h.handle) FROM persons p LEFT JOIN "
                "handles h ON h.handle = p.handle AND h.person = p.id"
            ).fetchone()
        assert persons > 0 and handles == persons, (persons, handles)
    else:
        assert per == (0, 0, 0), got


@pytest.mark.parametrize("args, reads, not_read", [
    (["person"], ["--store", "--keys"], ["--http", "--lmtp", "--hold-queue"]),
    (["brand", "add"], ["--store", "--keys"], ["--http", "--smarthost"]),
    (["init"], ["--store", "--keys"], ["--http", "--alias-domain"]),
    (["ledger", "verify"], ["--store", "--keys", "--alias-domain"],
     ["--http", "--maildir-root"]),
    (["demo"], ["--store", "--alias-domain", "--maildir-root"],
     ["--http", "--smarthost", "--open-registration"]),
    (["serve"], ["--http", "--lmtp", "--lmtp-conns", "--policy-conns",
                 "--smarthost"], []),
])
def test_help_lists_the_settings_the_command_reads(cmr, args, reads,
                                                   not_read):
    rc, out, err = cmr(*args, "--help")
    assert rc == 0, err
    listed = re.findall(r"^  (--[a-z-]+)", out, re.M)
    for flag in reads:
        assert flag in listed, (flag, out)
    for flag in not_read:
        assert flag not in listed, (flag, out)


def test_flags_may_stand_before_the_verb(inited):
    made = inited.add_person("noa")
    r = inited.run("person", "--json", "list")
    assert r.rc == 0, r
    assert json.loads(r.out)["items"][0]["id"] == made["id"]
    r = inited.run("ledger", "--store", inited.store, "--keys",
                   str(inited.keys), "verify", paths=False)
    assert r.rc == 0, r
    assert r.out.startswith("ok")
    r = inited.run("brand", "--json", "add", "Acme", "--domain",
                   "acme.example")
    assert r.rc == 0, r
    r = inited.run("brand", "--json", "key", "rotate", "Acme")
    assert r.rc == 0, r
    assert API_KEY.search(r.out)
