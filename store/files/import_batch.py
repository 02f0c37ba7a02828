"""One batch of an import: read what its rows touch, decide each row in memory, write in bulk.

The dry run and the real run go through this same code: only the transaction differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from store import tags
from store.db import RawTx
from store.errors import Invalid
from store.files import import_rows
from store.files.csvio import Row
from store.files.import_conflicts import Change, Conflict, Written, other_person, same_name
from store.files.import_rows import STATE, UNIQUE, Target
from store.phone_keys import phone_key
from store.serial import load_json

Outcome = tuple[Row, str, "str | Conflict | None"]  # row, count it goes to, error for the report


class Batch:
    """Rows written in one transaction: read what they touch, decide in memory, write in bulk."""

    def __init__(
        self, ws: int, rows: list[Row], written: Written, *, overwrite: bool, lock: bool = True
    ) -> None:
        self.ws = ws
        self.rows = rows
        self.written = written  # contacts earlier batches of the file resolved to
        self.overwrite = overwrite  # write conflicts anyway (the user chose to)
        self.lock = lock  # lock the contacts it reads (a dry run changes nothing)
        self.results: list[Outcome] = []
        self.targets: dict[int, Target] = {}  # existing contacts by live id
        self.created: list[Target] = []
        self.by_identifier: dict[str, Target] = {}
        self.owners: dict[tuple[str, str], tuple[Target, bool]] = {}  # (column, value) -> owner
        self.tag_ids: dict[str, int] = {}
        self.tag_names: dict[str, str] = {}  # folded key -> first spelling in the file

    async def run(self, tx: RawTx, now: datetime) -> None:
        """Decide every row and write the outcome in `tx`."""
        live = [r for r in self.rows if r.error is None and not r.blank]
        await self._load(tx, live)
        for row in self.rows:
            self.results.append(self._decide(row))
        await self._write(tx, now)

    async def _load(self, tx: RawTx, rows: list[Row]) -> None:
        hits: list[tuple[str, str, int, int | None]] = []
        for key in ("identifier", *UNIQUE):
            values = list({_owned(key, r.fields[key]) for r in rows if r.fields.get(key)})
            hits += await import_rows.lookup(tx, self.ws, key, values)
        ids = {merged or own for _k, _v, own, merged in hits}
        live = await import_rows.live(tx, self.ws, ids, lock=self.lock)
        for key, value, own, merged in hits:
            target = self._target(live.get(merged or own))
            if target is None:
                continue
            if key == "identifier":
                self.by_identifier.setdefault(value, target)
            else:
                self.owners[(key, value)] = (target, merged is None)
        await self._load_tags(tx, rows)

    def _target(self, state: list[Any] | None) -> Target | None:
        if state is None:
            return None
        cid = int(state[0])
        if cid not in self.targets:
            fields = dict(zip(STATE, state[1:], strict=True))
            fields["custom"] = load_json(fields["custom"]) or {}
            self.targets[cid] = Target(cid, fields, set(), written=cid in self.written)
        return self.targets[cid]

    async def _load_tags(self, tx: RawTx, rows: list[Row]) -> None:
        keys = list({tags.key(n) for r in rows for n in r.tags})
        self.tag_ids = await tags.ids(tx, self.ws, keys)
        if not self.tag_ids or not self.targets:
            return
        by_id = {i: k for k, i in self.tag_ids.items()}
        found = await import_rows.fetch_in(
            tx,
            f"contact_id, tag_id FROM contact_tag WHERE tag_id IN ({import_rows.marks(by_id)})",
            list(by_id),
            ("contact_id", list(self.targets), "int"),
        )
        for cid, tid in found:
            self.targets[int(cid)].tag_keys.add(by_id[int(tid)])

    def _decide(self, row: Row) -> Outcome:
        if row.error is not None:
            return row, "failed", row.error
        if row.blank:
            return row, "skipped", None
        match = self._match(row.fields)
        if match is None:
            self._create(row)
            return row, "created", None
        target, by = match
        try:
            change = self._change(target, row)
        except Invalid as exc:
            return row, "failed", str(exc)
        if not change:
            target.written = True  # a later row that would change it is a conflict
            return row, "skipped", None
        conflict = self._conflict(target, by, row, change)
        if conflict is not None and not self.overwrite:
            return row, "conflicts", conflict
        self._apply(target, change)
        return row, "updated", None

    def _match(self, fields: dict[str, Any]) -> tuple[Target, str] | None:
        """The contact a row resolves to, and the column that found it."""
        identifier = fields.get("identifier")
        if identifier and identifier in self.by_identifier:
            return self.by_identifier[identifier], "identifier"
        for key in UNIQUE:
            hit = self.owners.get((key, _owned(key, fields.get(key) or "")))
            if hit is not None:
                return hit[0], key
        return None

    @staticmethod
    def _conflict(target: Target, by: str, row: Row, change: Change) -> Conflict | None:
        """A different person's name on an email/phone match, or a contact the file wrote."""
        if by != "identifier" and other_person(target.fields.get("name"), row.fields.get("name")):
            return Conflict(target, by, change.describe(target))
        if target.written:
            return Conflict(target, "file", change.describe(target))
        return None

    def _create(self, row: Row) -> None:
        keys = {tags.key(n): n for n in row.tags}
        fields = {"custom": {}, **row.fields}
        target = Target(
            None, fields, set(keys), line=row.line, new_tags=keys, text=row.text, written=True
        )
        self._name_tags(keys)
        self.created.append(target)
        self._own(target, row.fields)

    def _name_tags(self, names: dict[str, str]) -> None:
        for key, name in names.items():
            self.tag_names.setdefault(key, name)

    def _own(self, target: Target, fields: dict[str, Any]) -> None:
        if fields.get("identifier"):
            self.by_identifier[fields["identifier"]] = target
        for key in UNIQUE:
            if fields.get(key):
                self.owners[(key, _owned(key, fields[key]))] = (target, True)

    def _change(self, target: Target, row: Row) -> Change:
        """What a row would change on a contact (empty cells were dropped: they keep values).

        A name that differs only in case or accents is the same name, kept as stored.
        """
        changes = {
            k: v for k, v in row.fields.items() if k != "custom" and target.fields.get(k) != v
        }
        if "name" in changes and same_name(target.fields.get("name"), changes["name"]):
            del changes["name"]
        for key in UNIQUE:
            hit = self.owners.get((key, _owned(key, changes.get(key) or "")))
            if hit is not None and hit[0] is not target:
                raise Invalid(
                    f"{key} {changes[key]} already belongs to {hit[0].label()},"
                    f" not to {target.label()} that this row matches"
                )
            if hit is not None:  # held by a contact merged into this one: it resolves here already
                del changes[key]
        custom = row.fields.get("custom", {})
        custom = {k: v for k, v in custom.items() if target.fields["custom"].get(k) != v}
        new_tags = {tags.key(n): n for n in row.tags if tags.key(n) not in target.tag_keys}
        return Change(changes, custom, new_tags)

    def _apply(self, target: Target, change: Change) -> None:
        self._release(target, change.fields)
        target.fields.update(change.fields)
        target.fields["custom"] = {**target.fields["custom"], **change.custom}
        target.tag_keys.update(change.new_tags)
        target.new_tags.update(change.new_tags)
        self._name_tags(change.new_tags)
        target.changed, target.text, target.written = True, None, True
        self._own(target, change.fields)

    def _release(self, target: Target, changes: dict[str, Any]) -> None:
        old = target.fields.get("identifier")
        if "identifier" in changes and old and self.by_identifier.get(old) is target:
            del self.by_identifier[old]
        for key in UNIQUE:
            if key in changes and target.fields.get(key):
                self.owners.pop((key, _owned(key, target.fields[key])), None)
                target.released.add(key)

    async def _write(self, tx: RawTx, now: datetime) -> None:
        missing = [n for k, n in self.tag_names.items() if k not in self.tag_ids]
        self.tag_ids.update(await tags.ensure(tx, self.ws, missing))
        updated = [t for t in self.targets.values() if t.changed]
        await import_rows.update(tx, updated, now, self._variants() if updated else {})
        await import_rows.insert(tx, self.ws, self.created, now)
        await self._link(tx)

    def _variants(self) -> dict[str, list[str]]:
        """Search variants of the phones the rows gave, parsed with them (see csvio._clean)."""
        return {r.fields["phone"]: r.variants for r in self.rows if r.variants}

    def written_ids(self) -> Iterator[int]:
        """Ids of the contacts this batch's rows resolved to (once it has run)."""
        for target in (*self.targets.values(), *self.created):
            if target.written and target.id is not None:
                yield target.id

    def _touched(self) -> list[Target]:
        return [*(t for t in self.targets.values() if t.changed), *self.created]

    async def _link(self, tx: RawTx) -> None:
        groups: dict[frozenset[int], list[int]] = {}
        for target in self._touched():
            if target.new_tags and target.id is not None:
                tag_ids = frozenset(self.tag_ids[k] for k in target.new_tags)
                groups.setdefault(tag_ids, []).append(target.id)
        for tag_ids, contact_ids in groups.items():
            await tags.link(tx, contact_ids, sorted(tag_ids))


def _owned(key: str, value: str) -> str:
    """What a unique column is owned by: an email as it is, a phone by its match key."""
    return (phone_key(value) or "") if key == "phone" and value else value
