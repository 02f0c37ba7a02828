"""Contact fields as any surface sends them: validated and normalised, one rule each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.errors import Invalid
from store.phones import normalise_email, to_e164

FIELD_LIMITS = {
    "name": 255,
    "email": 320,
    "identifier": 255,
    "company": 255,
    "city": 255,
    "country": 64,
    "language": 16,
    "avatar_url": 1024,
    "assignee": 200,
}
EDITABLE = (*FIELD_LIMITS, "phone", "custom")
CUSTOM_KEY_MAX = 64
CUSTOM_VALUE_MAX = 1000


def clean_fields(data: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Validate and normalise contact fields from any surface; Invalid names the bad one."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "custom":
            out["custom"] = clean_custom(value)
        elif value is None or (isinstance(value, str) and not value.strip()):
            out[key] = None
        elif not isinstance(value, str):
            raise Invalid(f"{key} must be a string")
        elif "\x00" in value:
            raise Invalid(f"{key} must not contain NUL characters")
        elif key == "phone":
            out[key] = _clean_phone(value, region)
        elif key == "email":
            out[key] = _clean_email(value)
        elif len(value.strip()) > FIELD_LIMITS[key]:
            raise Invalid(f"{key} is longer than {FIELD_LIMITS[key]} characters")
        else:
            out[key] = value.strip()
    return out


def _clean_phone(value: str, region: str) -> str:
    phone = to_e164(value, region)
    if phone is None:
        raise Invalid(f"phone {value!r} is not a valid phone number (region {region})")
    return phone


def _clean_email(value: str) -> str:
    email = normalise_email(value) or ""
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or " " in email or len(email) > 320:
        raise Invalid(f"email {value!r} is not a valid address")
    return email


def clean_custom(value: Any) -> dict[str, Any]:
    """Custom fields: a flat object of short keys to strings, numbers, booleans or null."""
    if not isinstance(value, dict):
        raise Invalid("custom must be an object of key: value")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > CUSTOM_KEY_MAX:
            raise Invalid(f"custom field names must be 1-{CUSTOM_KEY_MAX} characters")
        if "\x00" in key or (isinstance(item, str) and "\x00" in item):
            raise Invalid("custom fields must not contain NUL characters")
        if isinstance(item, str) and len(item) > CUSTOM_VALUE_MAX:
            raise Invalid(f"custom.{key} is longer than {CUSTOM_VALUE_MAX} characters")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise Invalid(f"custom.{key} must be a string, number, boolean or null")
        out[key.strip()] = item
    return out
