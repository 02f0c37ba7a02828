"""The phone rules, a table per country: as typed or as a provider sends it -> stored form, key."""

from __future__ import annotations

import pytest

from store.phone_keys import phone_key
from store.phones import parse_phone, to_e164
from store.text import phone_variants

# (input, workspace region, canonical E.164, match key)
MX = [
    ("+52 55 1234 5678", "MX", "+525512345678", "+525512345678"),
    ("55 1234 5678", "MX", "+525512345678", "+525512345678"),
    ("5215512345678", "MX", "+525512345678", "+525512345678"),  # WhatsApp wa_id, digits only
    ("+5215512345678", "US", "+525512345678", "+525512345678"),  # Twilio's From, any workspace
    ("+52 1 55 1234 5678", "EC", "+525512345678", "+525512345678"),
    ("044 55 1234 5678", "MX", "+525512345678", "+525512345678"),  # the mobile prefix of old
    ("+52 33 1234 5678", "US", "+523312345678", "+523312345678"),
]
AR = [
    ("+5491144445555", "US", "+5491144445555", "+541144445555"),  # WhatsApp's 549 form
    ("+54 9 11 4444-5555", "AR", "+5491144445555", "+541144445555"),
    ("011 15 4444-5555", "AR", "+5491144445555", "+541144445555"),  # as typed at home
    ("11 15 4444-5555", "AR", "+5491144445555", "+541144445555"),
    ("+54 11 4444 5555", "AR", "+541144445555", "+541144445555"),  # the 9 dropped: same key
    ("0351 15 444 5555", "AR", "+5493514445555", "+543514445555"),  # Córdoba
    ("+54 351 444 5555", "US", "+543514445555", "+543514445555"),
]
BR = [
    ("+55 11 98765-4321", "US", "+5511987654321", "+551187654321"),
    ("(11) 98765-4321", "BR", "+5511987654321", "+551187654321"),
    ("011 98765 4321", "BR", "+5511987654321", "+551187654321"),
    ("551187654321", "BR", "+5511987654321", "+551187654321"),  # an old wa_id: gains the 9
    ("+55 11 8765-4321", "US", "+5511987654321", "+551187654321"),
    ("+55 81 9988-7766", "US", "+5581999887766", "+558199887766"),
    ("+55 11 2345-6789", "US", "+551123456789", "+551123456789"),  # a landline: no 9
    ("(21) 3456-7890", "BR", "+552134567890", "+552134567890"),
]
PLAIN = [
    ("0991234567", "EC", "+593991234567", "+593991234567"),
    ("+593 99 123 4567", "US", "+593991234567", "+593991234567"),
    ("(04) 123 4567", "EC", "+59341234567", "+59341234567"),
    ("912 345 678", "PE", "+51912345678", "+51912345678"),
    ("(01) 411 1111", "PE", "+5114111111", "+5114111111"),
    ("300 123 4567", "CO", "+573001234567", "+573001234567"),
    ("(202) 555-0123", "US", "+12025550123", "+12025550123"),
    ("+1 202 555 0123", "EC", "+12025550123", "+12025550123"),
    ("612 34 56 78", "ES", "+34612345678", "+34612345678"),
    ("+34 912 34 56 78", "US", "+34912345678", "+34912345678"),
]
TABLES = {"MX": MX, "AR": AR, "BR": BR, "plain": PLAIN}


@pytest.mark.parametrize(
    ("raw", "region", "canonical", "key"),
    [row for rows in TABLES.values() for row in rows],
    ids=[f"{name}:{row[0]}@{row[1]}" for name, rows in TABLES.items() for row in rows],
)
def test_a_phone_is_stored_in_its_canonical_form_under_its_key(
    raw: str, region: str, canonical: str, key: str
) -> None:
    assert (to_e164(raw, region), phone_key(canonical)) == (canonical, key)
    assert to_e164(canonical, "US") == canonical  # the stored form is a fixed point
    parsed = parse_phone(raw, region)
    assert parsed == (canonical, phone_variants(canonical))


@pytest.mark.parametrize("name", ["MX", "AR", "BR"])
def test_every_variant_of_one_subscriber_shares_one_key(name: str) -> None:
    by_key: dict[str, set[str]] = {}
    for raw, region, _canonical, _key in TABLES[name]:
        by_key.setdefault(phone_key(to_e164(raw, region)) or "", set()).add(raw)
    subscribers = {"MX": 2, "AR": 2, "BR": 4}[name]
    assert len(by_key) == subscribers


def test_search_variants_carry_the_key_digits() -> None:
    assert phone_variants("+5491144445555") == ["5491144445555", "0111544445555", "541144445555"]
    assert phone_variants("+5511987654321") == ["5511987654321", "551187654321"]
    assert phone_variants("+525512345678") == ["525512345678"]


@pytest.mark.parametrize("raw", ["abc", "", "+52 1", "+55 11", "+54 9 11 4444 5555 6666"], ids=repr)
def test_what_is_no_phone_number_stays_none(raw: str) -> None:
    assert to_e164(raw, "AR") is None
