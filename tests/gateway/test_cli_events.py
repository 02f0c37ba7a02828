"""`contactgate events subscribe | list | remove | rotate` on a real SQLite file, beside the
notifications listing `events WORKSPACE` that keeps its grammar."""

from __future__ import annotations

import json
import re

from tests.gateway.test_cli_setup import CgRunner, cg, db_file  # noqa: F401  (fixtures)

SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


def test_subscribe_list_rotate_remove(cg: CgRunner) -> None:  # noqa: F811
    made = cg("events", "subscribe", "acme", "https://crm.example/hook",
              "--type", "contact.created", "--type", "message.received")  # fmt: skip
    assert made.exit_code == 0, made.output
    lines = made.output.splitlines()
    assert lines[:4] == [
        "id: 1",
        "url: https://crm.example/hook",
        "types: ['contact.created', 'message.received']",
        "description: ",
    ]
    assert SECRET.fullmatch(lines[-1].removeprefix("secret: "))
    assert cg("events", "list", "acme").output == (
        "1\thttps://crm.example/hook\tcontact.created,message.received\tactive\n"
    )
    listed = json.loads(cg("events", "list", "acme", "--json").output)
    assert [(s["id"], s["active"]) for s in listed] == [(1, True)] and "secret" not in listed[0]
    rotated = cg("events", "rotate", "acme", "1").output.splitlines()
    assert SECRET.fullmatch(rotated[0].removeprefix("secret: "))
    assert rotated[1].startswith("previous secret valid until: ")
    assert cg("events", "remove", "acme", "1").output == (
        "removed event subscription 1 (https://crm.example/hook)\n"
    )
    assert cg("events", "list", "acme").output == "no event subscriptions in acme\n"


def test_refusals_and_the_old_grammar(cg: CgRunner) -> None:  # noqa: F811
    bad = cg("events", "subscribe", "acme", "ftp://x")
    assert (bad.exit_code, bad.output) == (1, "Error: url must be an absolute http(s) URL\n")
    unknown = cg("events", "subscribe", "acme", "https://x.example", "--type", "contact.poked")
    assert unknown.exit_code == 2 and "'contact.poked' is not one of" in unknown.output
    gone = cg("events", "remove", "acme", "7")
    assert (gone.exit_code, gone.output) == (1, "Error: no event subscription 7\n")
    assert cg("events", "acme").output == "no events in acme\n"  # notifications, as before
    assert cg("events", "notifications", "acme").output == "no events in acme\n"
