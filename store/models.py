"""Tortoise models of the domain (operations models live in store.models_ops); store/ only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.indexes import Index
from tortoise.models import Model

from store.phone_keys import phone_key

if TYPE_CHECKING:  # annotations only: models_ops imports Workspace from here at run time
    from store.models_ops import AdminChat, Event


class Workspace(Model):
    """One business (tenant) with plan cap, timezone, phone region, reset policy."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    plan_cap = fields.IntField(default=1000)
    timezone = fields.CharField(max_length=64, default="UTC")
    default_region = fields.CharField(max_length=2, default="US")
    reset_mode = fields.CharField(max_length=8, default="off")  # off | all | tagged
    reset_tag = fields.CharField(max_length=64, default="Borrar")
    reset_pending_mode = fields.CharField(max_length=8, null=True)  # takes effect next period
    reset_pending_period = fields.CharField(max_length=7, null=True)  # YYYY-MM it applies from
    reset_set_by = fields.CharField(max_length=200, null=True)
    reset_set_at = fields.DatetimeField(null=True)
    reset_local_time = fields.CharField(max_length=5, default="23:00")
    language = fields.CharField(max_length=2, default="es")  # bots: when a person's is unknown
    # retention rules (store.reset.retention): days; None = off
    retention_contact_days = fields.IntField(null=True)  # contacts with no activity that long
    retention_message_days = fields.IntField(null=True)  # messages older than that
    retention_set_by = fields.CharField(max_length=200, null=True)
    retention_set_at = fields.DatetimeField(null=True)
    # consent (store.inbound.consent): the workspace's own opt-out / opt-in words; None = defaults
    consent_words: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "workspace"


class Channel(Model):
    """A connected inbound source, key is its webhook path segment."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="channels"
    )
    kind = fields.CharField(max_length=32)
    key = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200, default="")
    secrets: Any = fields.JSONField(default=dict)
    settings: Any = fields.JSONField(default=dict)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "channel"


class Contact(Model):
    """A person. merged_into points at the primary once merged away."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="contacts"
    )
    name = fields.CharField(max_length=255, null=True)
    email = fields.CharField(max_length=320, null=True)
    phone = fields.CharField(max_length=20, null=True)  # E.164, canonical (store.phones)
    # store.phone_keys.phone_key(phone): equal for every variant of one subscriber; kept by
    # every writer of phone, looked up (indexed) wherever a phone finds a contact.
    phone_key = fields.CharField(max_length=20, null=True)
    identifier = fields.CharField(max_length=255, null=True)
    company = fields.CharField(max_length=255, null=True)
    city = fields.CharField(max_length=255, null=True)
    country = fields.CharField(max_length=64, null=True)
    language = fields.CharField(max_length=16, null=True)
    avatar_url = fields.CharField(max_length=1024, null=True)
    custom: Any = fields.JSONField(default=dict)
    assignee = fields.CharField(max_length=200, null=True)
    source = fields.CharField(max_length=16, default="inbound")  # inbound|manual|import|api
    last_channel: fields.ForeignKeyNullableRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    merged_into: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_activity_at = fields.DatetimeField(null=True)
    last_incoming_at = fields.DatetimeField(null=True)
    # Derived by store.text from the fields above (and identities) on every write path:
    # the folded bag searched through FTS5 trigram / pg_trgm, and the folded name sorted on.
    search_text = fields.TextField(default="")
    name_key = fields.CharField(max_length=255, null=True)

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        """Save, with phone_key following phone (the raw-SQL writers set it themselves)."""
        self.phone_key = phone_key(self.phone)
        if update_fields is not None and "phone" in update_fields:
            update_fields = [*update_fields, "phone_key"]
        await super().save(using_db, update_fields, force_create, force_update)

    class Meta:
        table = "contact"
        unique_together = (("workspace", "email"), ("workspace", "phone"))
        indexes = (
            Index(fields=("workspace_id", "identifier")),
            Index(fields=("workspace_id", "phone_key")),
            Index(fields=("workspace_id", "last_activity_at")),
            Index(fields=("workspace_id", "name_key")),
            Index(fields=("workspace_id", "company")),
            Index(fields=("workspace_id", "city")),
            Index(fields=("workspace_id", "country")),
            Index(fields=("workspace_id", "created_at")),
            Index(fields=("workspace_id", "last_incoming_at")),
            Index(fields=("merged_into_id",)),  # deleting a contact looks its secondaries up
        )


class Identity(Model):
    """A contact on one channel, (channel, external_id) is unique. The unit the plan counts."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="identities"
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="identities"
    )
    external_id = fields.CharField(max_length=128)
    scoped_id = fields.CharField(max_length=128, null=True)  # e.g. WhatsApp BSUID
    username = fields.CharField(max_length=255, null=True)
    display_name = fields.CharField(max_length=255, null=True)
    phone = fields.CharField(max_length=20, null=True)
    email = fields.CharField(max_length=320, null=True)
    period = fields.CharField(max_length=7)  # YYYY-MM it was first counted in
    created_at = fields.DatetimeField(auto_now_add=True)
    # the person sent an opt-out word here (STOP, BAJA…): no outbound until an opt-in word
    opted_out_at = fields.DatetimeField(null=True)

    class Meta:
        table = "identity"
        unique_together = (("channel", "external_id"), ("channel", "scoped_id"))
        indexes = (Index(fields=("contact_id",)), Index(fields=("workspace_id", "channel_id")))


class Message(Model):
    """An inbound or outbound message, (channel, provider_message_id) dedupes deliveries."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name=False
    )
    identity: fields.ForeignKeyRelation[Identity] = fields.ForeignKeyField(
        "models.Identity", related_name="messages"
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="messages"
    )
    direction = fields.CharField(max_length=3, default="in")  # in | out
    provider_message_id = fields.CharField(max_length=255)
    type = fields.CharField(max_length=16)
    text = fields.TextField(null=True)
    media: Any = fields.JSONField(null=True)
    meta: Any = fields.JSONField(null=True)
    sent_at = fields.DatetimeField()
    received_at = fields.DatetimeField()
    # an edited message: when, and every version with its time (store.inbound.edits); 0011
    edited_at = fields.DatetimeField(null=True)
    history: Any = fields.JSONField(null=True)
    # outbound: every status it had, oldest first (store.statuses); 0015_statuses
    status_history: Any = fields.JSONField(null=True)

    class Meta:
        table = "message"
        unique_together = (("channel", "provider_message_id"),)
        indexes = (
            Index(fields=("contact_id", "received_at")),
            Index(fields=("identity_id",)),  # deleting an identity looks its messages up
            Index(fields=("workspace_id", "received_at")),  # message retention's selection
        )


class HeldMessage(Model):
    """A message from a new person that arrived at the cap: kept, not counted, replayable."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name=False
    )
    external_id = fields.CharField(max_length=128)
    provider_message_id = fields.CharField(max_length=255)
    inbound: Any = fields.JSONField()  # the parsed Inbound, enough to replay it
    received_at = fields.DatetimeField()

    class Meta:
        table = "held_message"
        unique_together = (("channel", "provider_message_id"),)
        indexes = (
            Index(fields=("workspace_id", "id")),
            Index(fields=("channel_id", "external_id")),
        )


class MessagePart(Model):
    """One part of a multipart message (SMS concat): waits for its set, then stays as a dedupe mark.

    A set is the parts sharing (channel, external_id, ref, total, set_key): store.inbound.concat.
    """

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name=False
    )
    external_id = fields.CharField(max_length=128)
    ref = fields.CharField(max_length=64)
    number = fields.SmallIntField()
    total = fields.SmallIntField()
    provider_message_id = fields.CharField(max_length=255)  # the part's own id
    set_key = fields.CharField(max_length=255)  # provider_message_id of the set's first arrival
    inbound: Any = fields.JSONField(null=True)  # the parsed part; cleared once assembled
    received_at = fields.DatetimeField()
    assembled_as = fields.CharField(max_length=255, null=True)  # the whole message's id

    class Meta:
        table = "message_part"
        unique_together = (("channel", "provider_message_id"),)
        indexes = (
            Index(fields=("channel_id", "external_id", "ref", "total")),
            Index(fields=("received_at",)),
        )


class PlanPeriod(Model):
    """Usage of one workspace in one calendar month (workspace timezone)."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="periods"
    )
    period = fields.CharField(max_length=7)  # YYYY-MM
    carried_over = fields.IntField(default=0)
    used = fields.IntField(default=0)  # carried_over + identities created in the period
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "plan_period"
        unique_together = (("workspace", "period"),)


class PeriodChannelUsage(Model):
    """Per-channel split of a period usage."""

    id = fields.IntField(primary_key=True)
    plan_period: fields.ForeignKeyRelation[PlanPeriod] = fields.ForeignKeyField(
        "models.PlanPeriod", related_name="channels"
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name=False
    )
    carried_over = fields.IntField(default=0)
    created = fields.IntField(default=0)

    class Meta:
        table = "period_channel_usage"
        unique_together = (("plan_period", "channel"),)


class Tag(Model):
    """A workspace tag, key is the case- and accent-folded name that must be unique."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="tags"
    )
    name = fields.CharField(max_length=100)
    key = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tag"
        unique_together = (("workspace", "key"),)


class ContactTag(Model):
    """A tag on a contact."""

    id = fields.IntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="tag_links"
    )
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="contact_links"
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contact_tag"
        unique_together = (("contact", "tag"),)
        indexes = (Index(fields=("tag_id", "contact_id")),)  # covering: a tag's contacts


class Note(Model):
    """A note on a contact, with its author."""

    id = fields.IntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="notes"
    )
    author = fields.CharField(max_length=200)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "note"
        indexes = (Index(fields=("contact_id",)),)


class View(Model):
    """A named saved filter with its columns and sort."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="views"
    )
    name = fields.CharField(max_length=100)
    filter_json: Any = fields.JSONField(null=True, source_field="filter")
    columns: Any = fields.JSONField(default=list)
    sort = fields.CharField(max_length=64, default="-last_activity_at")
    created_by = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "view"
        unique_together = (("workspace", "name"),)


class MergeRecord(Model):
    """A merge of secondary into primary, with the secondarynapshot for unmerge."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    primary: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="merges_absorbed"
    )
    secondary: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="merges_into"
    )
    snapshot: Any = fields.JSONField()
    merged_by = fields.CharField(max_length=200)
    merged_at = fields.DatetimeField(auto_now_add=True)
    unmerged_at = fields.DatetimeField(null=True)

    class Meta:
        table = "merge_record"
        indexes = (Index(fields=("primary_id",)), Index(fields=("secondary_id",)))


class BotAction(Model):
    """What a chat button stands for while it waits to be pressed (a confirmation, a merge's
    picks, a list's next page, an uploaded CSV); the button carries only its id (bots.core)."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    kind = fields.CharField(max_length=32)
    payload: Any = fields.JSONField(default=dict)
    blob = fields.BinaryField(null=True)  # an uploaded file an import confirmation applies
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)  # a confirmation runs once

    class Meta:
        table = "bot_action"
        indexes = (Index(fields=("expires_at",)),)


class EventDelivery(Model):
    """One event sent to one admin chat: claimed by one process, retried until sent, sent once."""

    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name=False
    )
    chat: fields.ForeignKeyRelation[AdminChat] = fields.ForeignKeyField(
        "models.AdminChat", related_name=False
    )
    delivered_at = fields.DatetimeField(null=True)
    claimed_until = fields.DatetimeField(null=True)  # the lease of the process sending it
    attempts = fields.IntField(default=0)
    next_try_at = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)

    class Meta:
        table = "event_delivery"
        unique_together = (("event", "chat"),)
