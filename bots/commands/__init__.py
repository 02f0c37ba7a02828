"""The admin bots' commands, one module per area; importing this package registers them all."""

from bots.commands import (  # noqa: F401
    basics,
    bulk,
    common,
    contacts,
    duplicates,
    editing,
    files,
    merging,
    person,
    plan,
    reset,
    sending,
    tagging,
    views,
)
