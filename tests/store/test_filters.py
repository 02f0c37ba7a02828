"""Filters on both databases: every field and operator, nesting, NULLs, hostile input."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store import contacts, tags
from store.channels import upsert_channel
from store.db import ClientTx, raw_transaction
from store.filters import FilterError, compile_filter, parse_filter
from store.setup import get_workspace
from tests import helpers

NOW = datetime(2026, 11, 21, 12, 0, 0, 500_000, tzinfo=UTC)
DAY = timedelta(days=1)
MIDNIGHT = datetime(2026, 10, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)
CHANNELS = {
    "wa": ("whatsapp", "wa-acme-key1", "Ventas WhatsApp"),
    "tg": ("telegram", "tg-acme-key1", "Soporte"),
}
# label: (contact fields, {tags, channels, last channel, created, last incoming})
PEOPLE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "jose": (
        {"name": "José Pérez", "email": "jose@example.com", "phone": "+593991234567",
         "city": "Quito", "country": "EC", "company": "Acme", "language": "es",
         "custom": {"plan": "gold", "seats": 12}},
        {"tags": ["vip"], "channels": ["wa"], "last": "wa", "created": NOW - 40 * DAY,
         "last_in": NOW - 2 * DAY},
    ),
    "maria": (
        {"name": "María López", "email": "maria@example.com", "city": "São Paulo",
         "country": "BR", "custom": {"plan": "Oro", "seats": "7"}},
        {"tags": ["VIP", "Borrar"], "channels": ["tg"], "last": "tg", "created": NOW - 5 * DAY,
         "last_in": NOW - timedelta(hours=1)},
    ),
    "mariajose": (
        {"name": "María José Vera", "country": "EC"},
        {"tags": ["vip"], "created": NOW - 10 * DAY, "last_in": NOW - 6 * DAY},
    ),
    "mario": (
        {"name": "MARIO Núñez", "city": "Lima", "country": "PE", "custom": {"seats": 30}},
        {"tags": ["vip"], "created": NOW - 100 * DAY, "last_in": NOW - 10 * DAY},
    ),
    "ana": (
        {"name": "Ana", "phone": "+12025550100", "country": "US", "company": "acme inc",
         "custom": {"vip": True}},
        {"tags": ["gold"], "channels": ["wa", "tg"], "last": "tg", "last_in": NOW - 45 * DAY},
    ),
    "anon": ({"email": "anon@example.org"}, {"created": NOW - 400 * DAY}),
    "pedro": (
        {"name": "Pedro", "phone": "+593987654321", "city": "quito", "country": "EC",
         "custom": {"plan": "silver", "seats": " 12.5 "}},
        {"tags": ["Borrar"], "last_in": NOW - 3 * DAY},
    ),
    "lucia": (
        {"name": "Lucía", "country": "pe", "assignee": "Carla"},
        {"tags": ["Vïp"], "last_in": NOW - 20 * DAY},
    ),
    "zoe": ({"name": "Zoë Adams", "company": "Zeta", "identifier": "crm-77", "language": "en"}, {}),
    "bobby": ({"name": "Robert'); DROP TABLE contact;--", "company": "100% _real_ \\ co"}, {}),
    "quote": ({"name": "Quote", "custom": {'say "hi"': "yes", "score": "n/a"}}, {}),
    "edge_in": ({"name": "Edge In"}, {"last_in": NOW - 7 * DAY}),
    "edge_out": ({"name": "Edge Out"}, {"last_in": NOW - 7 * DAY - TICK}),
    "mid": ({"name": "Mid"}, {"created": MIDNIGHT}),
    "before_mid": ({"name": "Before Mid"}, {"created": MIDNIGHT - TICK}),
    "after_mid": ({"name": "After Mid"}, {"created": MIDNIGHT + TICK}),
}  # fmt: skip
FILLERS = {f"filler{i}" for i in range(12)}
ALL = set(PEOPLE) | FILLERS
VIP = {"jose", "maria", "mariajose", "mario", "lucia"}
TAGGED = VIP | {"ana", "pedro"}


@dataclass
class World:
    """The seeded workspace: its id and the label of each contact id."""

    ws: int
    labels: dict[int, str]

    async def ids(self, value: Any, region: str = "EC") -> set[str]:
        """Labels of the live contacts of the workspace matching a filter in any form."""
        tx = ClientTx()
        where = compile_filter(
            parse_filter(value), workspace_id=self.ws, dialect=tx.dialect, now=NOW, region=region
        )
        rows = await tx.fetch(
            "SELECT c.id FROM contact c WHERE c.workspace_id = ? AND c.merged_into_id IS NULL"
            f" AND ({where.sql})",
            [self.ws, *where.params],
        )
        return {self.labels[int(r[0])] for r in rows}

    async def check(self, cases: dict[str, set[str]]) -> None:
        """Every text filter finds exactly its expected contacts (all mismatches shown)."""
        assert {f: await self.ids(f) for f in cases} == cases


async def _seed() -> World:
    await helpers.workspace("acme", region="EC")
    ws = (await get_workspace("acme")).id
    kinds = {"whatsapp": (), "telegram": ()}
    channel_ids = {}
    for label, (kind, key, name) in CHANNELS.items():
        info = await upsert_channel("acme", kind, key, {}, name=name, known_kinds=kinds)
        channel_ids[label] = info.id
    people = {
        **PEOPLE,
        **{
            f: ({"name": f"Filler {f[6:]}"}, {"filler": True, "created": NOW - 200 * DAY})
            for f in FILLERS
        },
    }
    labels = {}
    async with raw_transaction() as tx:
        for label, (fields, extra) in people.items():
            source = "import" if extra.get("filler") else "manual"
            cid = await contacts.insert(tx, ws, fields, source)
            labels[cid] = label
            await _extra(tx, ws, cid, extra, channel_ids)
    return World(ws, labels)


async def _extra(
    tx: Any, ws: int, cid: int, extra: dict[str, Any], channels: dict[str, int]
) -> None:
    last_in = extra.get("last_in")
    last = channels[extra["last"]] if "last" in extra else None
    await tx.execute(
        "UPDATE contact SET created_at = ?, last_incoming_at = ?, last_activity_at = ?,"
        " last_channel_id = ? WHERE id = ?",
        [extra.get("created", NOW - 30 * DAY), last_in, last_in, last, cid],
    )
    if extra.get("tags"):
        found = await tags.ensure(tx, ws, extra["tags"])
        await tags.link(tx, [cid], [found[tags.key(t)] for t in extra["tags"]])
    for label in extra.get("channels", []):
        await tx.execute(
            "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, period,"
            " created_at) VALUES (?,?,?,?,?,?)",
            [ws, channels[label], cid, f"ext-{cid}-{label}", "2026-11", NOW],
        )


@pytest.fixture
async def world(orm: str) -> World:
    """The seeded workspace on the test's database."""
    return await _seed()


async def test_text_fields_fold_case_and_accents(world: World) -> None:
    await world.check(
        {
            "name~maria": {"maria", "mariajose"},
            "name~MARÍ": {"maria", "mariajose", "mario"},
            'name:"maria lopez"': {"maria"},
            "name^ana": {"ana"},
            "name>=zoe": {"zoe"},
            'city:"sao paulo"': {"maria"},
            "city:QUITO": {"jose", "pedro"},
            "city~uit": {"jose", "pedro"},
            "country:ec": {"jose", "pedro", "mariajose"},
            "country:PE": {"mario", "lucia"},
            "company:acme": {"jose"},
            "company~ACME": {"jose", "ana"},
            "company:*": {"jose", "ana", "zoe", "bobby"},
            "-name:*": {"anon"},
            "email:JOSE@Example.com": {"jose"},
            "email~example.com": {"jose", "maria"},
            "email^anon": {"anon"},
            "identifier:CRM-77": {"zoe"},
            "language:en": {"zoe"},
            "assignee:carla": {"lucia"},
            "source:import": FILLERS,
            "source!=import": set(PEOPLE),
        }
    )


async def test_negative_operators_count_null_as_different(world: World) -> None:
    not_quito = ALL - {"jose", "pedro"}
    await world.check(
        {
            "city!=quito": not_quito,
            "-city:quito": not_quito,
            "NOT city:Quito": not_quito,
            "-city~o": ALL - {"jose", "maria", "pedro"},
            "email!=jose@example.com": ALL - {"jose"},
            "-last_in<7d": ALL - {"jose", "maria", "mariajose", "pedro", "edge_in"},
        }
    )
    found = await world.ids({"field": "city", "op": "not_contains", "value": "O"})
    assert found == ALL - {"jose", "maria", "pedro"}


async def test_phone_matches_any_format_and_digits(world: World) -> None:
    await world.check(
        {
            "phone:0991234567": {"jose"},
            'phone:"+593 99 123 4567"': {"jose"},
            "phone~1234": {"jose"},
            "phone^099": {"jose"},
            "phone^+1": {"ana"},
            "phone^593": {"jose", "pedro"},
            "phone!=0991234567": ALL - {"jose"},
            "phone:*": {"jose", "ana", "pedro"},
        }
    )
    assert await world.ids("phone:2025550100", region="US") == {"ana"}
    with pytest.raises(FilterError, match=r"not a phone number '12' .*region EC"):
        await world.ids("phone:12")


async def test_dates_relative_and_absolute_to_the_microsecond(world: World) -> None:
    before_october = {"mario", "anon", "before_mid"} | FILLERS
    recent = {"jose", "maria", "mariajose", "pedro", "edge_in"}
    await world.check(
        {
            "last_in<7d": recent,
            "last_seen<=7d": recent,
            "last_in<7": recent,
            "last_in<12h": {"maria"},
            "last_in>7d": {"mario", "ana", "lucia", "edge_out"},
            "last_in>30d": {"ana"},
            "last_activity>=30d": {"ana"},
            "last_in:*": recent | {"mario", "ana", "lucia", "edge_out"},
            "created>=2026-10-01": ALL - before_october,
            'created>="2026-10-01T02:00:00+02:00"': ALL - before_october,
            "created>2026-10-01": ALL - before_october - {"mid"},
            "created<2026-10-01": before_october,
            "created<=2026-09-30T23:59:59.999999Z": before_october,
            "created:2026-10-01": {"mid", "after_mid"},
            "created:2026-10-01T00:00:00Z": {"mid"},
            "created!=2026-10-01": ALL - {"mid", "after_mid"},
            "created>300d": {"anon"},
        }
    )
    assert await world.ids({"field": "created_at", "op": "before", "value": "2026-10-01"}) == (
        before_october
    )
    assert await world.ids({"field": "last_incoming_at", "op": "within", "value": 7}) == recent
    older = {"field": "last_incoming_at", "op": "older_than", "value": "1w"}
    assert await world.ids(older) == {"mario", "ana", "lucia", "edge_out"}


async def test_tags_any_all_none_ignore_case_and_accents(world: World) -> None:
    await world.check(
        {
            "tag:vip": VIP,
            "tags:VÍP": VIP,
            "tag:borrar": {"maria", "pedro"},
            "-tag:Borrar": ALL - {"maria", "pedro"},
            "tag!=BORRAR": ALL - {"maria", "pedro"},
            "tag:*": TAGGED,
            "-tag:*": ALL - TAGGED,
            "tag:nobody-has-it": set(),
        }
    )
    both = {"field": "tag", "op": "all", "value": ["vip", "borrar"]}
    assert await world.ids(both) == {"maria"}
    assert await world.ids({"field": "tag", "op": "any", "value": ["gold", "BORRAR"]}) == {
        "ana",
        "maria",
        "pedro",
    }
    assert await world.ids({"field": "tag", "op": "none", "value": ["vip", "gold"]}) == (
        ALL - VIP - {"ana"}
    )


async def test_channels_by_kind_key_or_name(world: World) -> None:
    await world.check(
        {
            "channel:whatsapp": {"jose", "ana"},
            "channel:TELEGRAM": {"maria", "ana"},
            "channel:soporte": {"maria", "ana"},
            'channel:"ventas whatsapp"': {"jose", "ana"},
            "channel:TG-ACME-KEY1": {"maria", "ana"},
            "channel!=whatsapp": ALL - {"jose", "ana"},
            "channel:*": {"jose", "maria", "ana"},
            "-channel:*": ALL - {"jose", "maria", "ana"},
            "last_channel:telegram": {"maria", "ana"},
            "last_channel!=telegram": ALL - {"maria", "ana"},
            "last_channel:*": {"jose", "maria", "ana"},
            "channel:sms": set(),
        }
    )
    either = {"field": "channel", "op": "any", "value": ["soporte", "whatsapp"]}
    assert await world.ids(either) == {"jose", "maria", "ana"}


async def test_custom_fields_compare_numbers_as_numbers(world: World) -> None:
    await world.check(
        {
            "custom.plan:gold": {"jose"},
            "cf.plan:ORO": {"maria"},
            "custom.plan~o": {"jose", "maria"},
            "custom.plan!=gold": ALL - {"jose"},
            "custom.plan:*": {"jose", "maria", "pedro"},
            "-custom.plan:*": ALL - {"jose", "maria", "pedro"},
            "custom.seats>10": {"jose", "mario", "pedro"},
            "custom.seats<=12": {"jose", "maria"},
            "custom.seats<7.5": {"maria"},
            "custom.seats:12": {"jose"},
            "custom.vip:true": {"ana"},
            'custom."say \\"hi\\"":YES': {"quote"},
            'custom."say \\"hi\\""~ye': {"quote"},
            "custom.score>1": set(),
            "custom.nope:*": set(),
        }
    )
    assert await world.ids({"field": "custom.seats", "op": "eq", "value": 7}) == {"maria"}
    assert await world.ids({"field": "custom.seats", "op": "neq", "value": 12}) == ALL - {"jose"}
    assert await world.ids({"field": "custom.vip", "op": "eq", "value": True}) == {"ana"}


async def test_search_terms_nesting_and_the_issue_example(world: World) -> None:
    example = (
        "tag:vip (country:EC OR country:PE) -tag:Borrar last_in<7d name~maria created>=2026-10-01"
    )
    await world.check(
        {
            example: {"mariajose"},
            "tag:vip (country:EC OR country:PE) -tag:Borrar": {
                "jose",
                "mariajose",
                "mario",
                "lucia",
            },
            "jose": {"jose", "mariajose"},
            '"maria jose" OR zeta': {"mariajose", "zoe"},
            "tag:gold OR city:lima country:PE": {"ana", "mario"},
            "(tag:gold OR city:lima) country:PE": {"mario"},
            "NOT (city:quito OR country:PE)": ALL - {"jose", "pedro", "mario", "lucia"},
            "-(-tag:vip)": VIP,
            "tag:vip AND NOT (name~maria OR -country:ec)": {"jose"},
        }
    )
    deep: dict[str, Any] = {"field": "tag", "op": "eq", "value": "vip"}
    for i in range(8):
        deep = {"not": deep} if i % 2 else {"and": [deep, {"field": "name", "op": "present"}]}
    assert await world.ids(deep) == VIP | {"anon"}  # the last NOT lets the nameless one in


HOSTILE = [
    "'",
    '"',
    "';--",
    "'); DROP TABLE contact;--",
    "%",
    "_",
    "\\",
    "\\%",
    "?",
    "$1",
    "1=1 OR",
    "' OR '1'='1",
    "é" * 500,
    "\u202e\ufeff",
]


async def test_hostile_values_are_literal_parameters(world: World) -> None:
    await world.check(
        {
            'name:"Robert\'); DROP TABLE contact;--"': {"bobby"},
            'company~"100%"': {"bobby"},
            'company~"%"': {"bobby"},
            "company~_real_": {"bobby"},
            'company~"\\\\"': {"bobby"},
            'name~"%"': set(),
            'name~"_"': set(),
            'custom."a\'];--":x': set(),
            'custom."$.plan":gold': set(),
        }
    )
    dialect = ClientTx().dialect
    for field, op in [("name", "contains"), ("city", "neq"), ("custom.x", "gt"), ("tag", "any")]:
        benign = _sql({"field": field, "op": op, "value": "x"}, world.ws, dialect)
        for value in HOSTILE:
            tree = {"field": field, "op": op, "value": value[:100] if field == "tag" else value}
            assert _sql(tree, world.ws, dialect) == benign  # values never reach the SQL text
            await world.ids(tree)
    assert len(await world.ids("name:*")) == len(ALL) - 1  # the table is still there


def _sql(tree: dict[str, Any], ws: int, dialect: str) -> str:
    return compile_filter(tree, workspace_id=ws, dialect=dialect, now=NOW, region="EC").sql


async def test_fuzzed_text_is_a_filter_error_or_valid_sql(world: World) -> None:
    alphabet = ['"', "'", "\\", "(", ")", "-", ":", "!=", "~", "^", "<", ">=", "%", "_", ";", " ",
                "OR", "and", "NOT", "tag", "name", "last_in", "custom.", "7d", "2026-10-01", "*",
                "\x00", "é", "$", "?", "--", "/*"]  # fmt: skip
    rng = random.Random(7)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        try:
            await world.ids(text)
            outcomes["ok"] += 1
        except FilterError as exc:
            assert exc.position is not None or "phone" in str(exc), text
            outcomes["error"] += 1
    assert outcomes["ok"] > 20 and outcomes["error"] > 20


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    """A normalised condition."""
    return {"field": field, "op": op} | ({} if value is None else {"value": value})


@pytest.mark.parametrize(
    ("given", "tree"),
    [
        (None, None),
        ("", None),
        ({}, None),
        ({"and": []}, None),
        ({"and": [{"field": "Tags", "op": "EQ", "value": "vip"}]}, leaf("tag", "any", ["vip"])),
        (
            {
                "and": [
                    {"and": [leaf("city", "eq", "a"), leaf("city", "eq", "b")]},
                    leaf("city", "eq", "c"),
                ]
            },
            {"and": [leaf("city", "eq", "a"), leaf("city", "eq", "b"), leaf("city", "eq", "c")]},
        ),
        ({"not": {"not": leaf("city", "eq", " Quito ")}}, leaf("city", "eq", "Quito")),
        (
            {"field": "tag", "op": "any", "value": ["VIP", "vip", "Vïp", "gold"]},
            leaf("tag", "any", ["VIP", "gold"]),
        ),
        (
            {"field": "last_seen", "op": "within", "value": 7},
            leaf("last_activity_at", "within", "7d"),
        ),
        (
            {"field": "created", "op": "older_than", "value": " 2W"},
            leaf("created_at", "older_than", "2w"),
        ),
        (
            {"field": "created_at", "op": "before", "value": "2026-10-01"},
            leaf("created_at", "lt", "2026-10-01"),
        ),
        (
            {"field": "created_at", "op": "after", "value": "2026-10-01T12:00:00+02:00"},
            leaf("created_at", "gt", "2026-10-01T10:00:00+00:00"),
        ),
        (
            {"field": "created_at", "op": "gte", "value": "2026-10-01T12:00:00"},
            leaf("created_at", "gte", "2026-10-01T12:00:00+00:00"),
        ),
        ({"field": "last_in", "op": "present", "value": None}, leaf("last_incoming_at", "present")),
        ({"field": "custom.seats", "op": "gt", "value": "1e3"}, leaf("custom.seats", "gt", 1000.0)),
        ({"field": "custom.seats", "op": "eq", "value": "10"}, leaf("custom.seats", "eq", "10")),
        (
            {"field": "custom.seats", "op": "eq", "value": 2**60},
            leaf("custom.seats", "eq", float(2**60)),
        ),
        ({"field": "cf.vip", "op": "eq", "value": False}, leaf("custom.vip", "eq", "false")),
        ({"field": "identifier", "op": "eq", "value": 77}, leaf("identifier", "eq", "77")),
        ({"field": "q", "op": "eq", "value": "maria"}, leaf("q", "contains", "maria")),
        ({"field": "channel", "op": "neq", "value": "sms"}, leaf("channel", "none", ["sms"])),
    ],
)
def test_json_trees_are_normalised(given: Any, tree: dict[str, Any] | None) -> None:
    assert parse_filter(given) == tree
    assert parse_filter(tree) == tree  # normalising is idempotent


FIELDS = (
    "fields: name, email, identifier, company, city, country, language, assignee, source, phone,"
    " tag, channel, last_channel, created_at, last_activity_at, last_incoming_at, q, opted_out,"
    " custom.<key>"
)
NAME_OPS = (
    "name takes: eq, neq, contains, not_contains, starts_with, present, absent, gt, gte, lt, lte"
)
DURATIONS = "use 30m, 12h, 7d, 2w or a number of days, up to 36500 days"


def _nested(group: str, levels: int) -> dict[str, Any]:
    node: dict[str, Any] = leaf("name", "present")
    for _ in range(levels):
        node = {"not": node} if group == "not" else {group: [node]}
    return node


@pytest.mark.parametrize(
    ("given", "message", "token"),
    [
        (leaf("contry", "eq", "EC"), f"unknown field 'contry' ({FIELDS})", "contry"),
        ({"field": 5, "op": "eq", "value": "x"}, "a field name must be text, not '5'", "5"),
        (
            {"and": [leaf("name", "within", "7d"), leaf("city", "present")]},
            f"and[0]: wrong operator 'within' ({NAME_OPS})",
            "within",
        ),
        (
            {"field": "name", "op": ["eq"], "value": "x"},
            f"wrong operator \"['eq']\" ({NAME_OPS})",
            "['eq']",
        ),
        (
            {"or": [leaf("tag", "eq", "vip"), {"not": leaf("created_at", "gt", "7d")}]},
            "or[1].not: expected a date, got the duration '7d'"
            " (a duration goes with within / older_than)",
            "7d",
        ),
        ({"field": "name", "op": "eq"}, "missing value for name eq", None),
        (leaf("name", "present", "x"), "present takes no value, got 'x'", "x"),
        (leaf("name", "eq", ["a"]), "expected a text value, got \"['a']\"", "['a']"),
        ({"field": "name", "op": "eq", "value": True}, "expected a text value, got 'True'", "True"),
        (
            leaf("name", "eq", "x" * 501),
            f"value too long '{'x' * 40}' (at most 500 characters)",
            "x" * 40,
        ),
        (leaf("name", "eq", "a\x00b"), "value contains a NUL character 'a\\x00b'", "a\x00b"),
        (leaf("name", "eq", "\ud800"), "value is not valid text '\\\\ud800'", "\\ud800"),
        (
            {"or": [leaf("city", "eq", str(i)) for i in range(101)]},
            "or[100]: too many conditions '101' (at most 100)",
            "101",
        ),
        (
            _nested("not", 10),
            "not.not.not.not.not.not.not.not.not.not: nested too deeply (at most 10 levels)",
            None,
        ),
        (
            _nested("and", 5000),
            "and[0]." * 9 + "and[0]: nested too deeply (at most 10 levels)",
            None,
        ),
        ({"and": [], "or": []}, "a group has one key (and, or, not), got 'and, or'", "and, or"),
        ({"or": []}, "'or' needs a non-empty list of nodes, got '[]'", "[]"),
        (
            {"field": "name", "op": "eq", "value": "x", "extra": 1},
            "bad filter node with keys 'field, op, value, extra'"
            " (a condition is {field, op, value};"
            " a group is {and: [...]}, {or: [...]} or {not: ...})",
            "field, op, value, extra",
        ),
        ({"and": ["x"]}, "and[0]: a filter node must be an object, got 'x'", "x"),
        (leaf("last_in", "within", "7 days"), f"not a duration '7 days' ({DURATIONS})", "7 days"),
        (leaf("created_at", "within", 40000), f"not a duration '40000d' ({DURATIONS})", "40000d"),
        (
            leaf("created_at", "eq", "2026-13-01"),
            "not a date '2026-13-01' (use 2026-10-01 or 2026-10-01T10:00:00Z)",
            "2026-13-01",
        ),
        (
            leaf("created_at", "lt", "9999-12-31"),
            "not a date '9999-12-31' (use 2026-10-01 or 2026-10-01T10:00:00Z)",
            "9999-12-31",
        ),
        (leaf("custom.", "eq", "x"), "bad custom field name '' (1-64 characters)", ""),
        (leaf("custom.n", "gt", float("nan")), "not a finite number 'nan'", "nan"),
        (leaf("tag", "any", []), "expected 1 to 100 names, got '0'", "0"),
        (
            leaf("tag", "any", ["x" * 101]),
            f"name too long '{'x' * 40}' (at most 100 characters)",
            "x" * 40,
        ),
        (42, "a filter must be text, a JSON object or a Chatwoot payload, not 'int'", "int"),
    ],
)
def test_json_errors_say_where_what_and_why(given: Any, message: str, token: str | None) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(given)
    assert (str(caught.value), caught.value.token, caught.value.position) == (message, token, None)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-ish value that often looks like a filter node."""
    keys = ["field", "op", "value", "and", "or", "not", "payload", "attribute_key", "x"]
    atoms = ["name", "tag", "custom.a", "created_at", "eq", "any", "within", "gt", "present",
             "7d", "2026-10-01", "", "%'\"\\", None, True, 3, -2.5, float("inf"),
             10**40]  # fmt: skip
    roll = rng.random()
    if depth > 4 or roll < 0.4:
        return rng.choice(atoms)
    if roll < 0.55:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(1, 3))}


def test_any_json_is_a_tree_that_compiles_or_a_filter_error() -> None:
    rng = random.Random(5)
    outcomes = {"tree": 0, "error": 0}
    for _ in range(3000):
        given = _random_json(rng)
        try:
            tree = parse_filter(given)
        except FilterError:
            outcomes["error"] += 1
            continue
        outcomes["tree"] += 1
        for dialect in ("sqlite", "postgres"):
            where = compile_filter(tree, workspace_id=1, dialect=dialect, now=NOW, region="EC")
            assert where.sql.count("?") == len(where.params), given
    assert outcomes["tree"] > 50 and outcomes["error"] > 1000
