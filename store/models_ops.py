"""Tortoise models of operations: audit log, API tokens, admin bindings, events, reset runs,
dismissed duplicate pairs."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from store.models import Contact, Workspace


class AuditLog(Model):
    """Who did what, from which surface, when."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyNullableRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False, null=True
    )
    actor = fields.CharField(max_length=200)
    surface = fields.CharField(max_length=16)  # cli | api | slack | telegram | system
    action = fields.CharField(max_length=64)
    target = fields.CharField(max_length=200, null=True)
    detail: Any = fields.JSONField(null=True)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
        indexes = (
            Index(fields=("workspace_id", "at")),
            Index(fields=("workspace_id", "target")),  # a contact's history (GET /audit?contact=)
        )


class ApiToken(Model):
    """A REST API bearer token, stored as its SHA-256 only."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="tokens"
    )
    name = fields.CharField(max_length=100)
    role = fields.CharField(max_length=8)  # agent | admin | owner
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class AdminBinding(Model):
    """A chat user (Slack team:user, Telegram user id) bound to a workspace and role."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="admins"
    )
    platform = fields.CharField(max_length=16)  # slack | telegram
    platform_user = fields.CharField(max_length=128)
    role = fields.CharField(max_length=8)
    name = fields.CharField(max_length=200, default="")
    language = fields.CharField(max_length=2, null=True)  # pinned with `/idioma`; else detected
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "admin_binding"
        unique_together = (("platform", "platform_user"),)


class AdminChat(Model):
    """A chat where notifications of a workspace are delivered (Slack channel, Telegram chat)."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="admin_chats"
    )
    platform = fields.CharField(max_length=16)
    chat_id = fields.CharField(max_length=128)

    class Meta:
        table = "admin_chat"
        unique_together = (("workspace", "platform", "chat_id"),)


class Event(Model):
    """A notification to deliver (cap thresholds, reset warnings/results), key makes it once."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    kind = fields.CharField(max_length=32)
    key = fields.CharField(max_length=128)  # e.g. "cap_80:2026-11": one per threshold per period
    payload: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "event"
        unique_together = (("workspace", "key"),)


class ResetRun(Model):
    """One scheduled deletion of a workspace: a monthly reset (`kind` reset, period `YYYY-MM`)
    or a day's retention rules (`kind` retention, period `YYYY-MM-DD`); (workspace, kind,
    period) unique makes it run once (see Meta).

    `owner` and `heartbeat_at` are the lease of the process running it; `progress` holds what a
    resuming process needs (high-water marks, export file lengths, batches done).
    """

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="reset_runs"
    )
    kind = fields.CharField(max_length=16, default="reset")  # reset | retention
    period = fields.CharField(max_length=10)
    mode = fields.CharField(max_length=32)  # all | tagged; retention: its rules
    enabled_by = fields.CharField(max_length=200, null=True)
    state = fields.CharField(max_length=16, default="started")  # started|exported|done|failed
    trigger = fields.CharField(max_length=16, default="schedule")  # schedule | manual
    requested_by = fields.CharField(max_length=200, null=True)  # who ran it by hand
    counts: Any = fields.JSONField(default=dict)
    export_path = fields.CharField(max_length=1024, null=True)
    owner = fields.CharField(max_length=128, null=True)  # process holding the run
    heartbeat_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)
    snapshot_at = fields.DatetimeField(null=True)
    progress: Any = fields.JSONField(default=dict)

    class Meta:
        table = "reset_run"
        # (workspace, period) unique is (workspace, kind, period) unique: a reset's period is
        # `YYYY-MM`, a retention run's `YYYY-MM-DD` (SQLite cannot drop the inline constraint)
        unique_together = (("workspace", "period"),)


class ResetTarget(Model):
    """A contact a reset run deletes, fixed when the run starts.

    A resumed run deletes exactly what was exported. `contact_id` is no foreign key: deleting a
    contact must not look it up here.
    """

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[ResetRun] = fields.ForeignKeyField(
        "models.ResetRun", related_name="targets"
    )
    contact_id = fields.IntField()

    class Meta:
        table = "reset_target"
        unique_together = (("run", "contact_id"),)


class ImportJob(Model):
    """A CSV import started through the API: it runs in the background of the process that took
    the upload, and its progress, counts and error report are read while it runs."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    state = fields.CharField(max_length=16, default="running")  # running | done | failed
    dry_run = fields.BooleanField(default=False)
    on_conflict = fields.CharField(max_length=8, default="skip")
    rows_done = fields.IntField(default=0)
    rows_total = fields.IntField(default=0)
    result: Any = fields.JSONField(null=True)  # the import's counts once done
    errors_csv = fields.TextField(null=True)  # the error report, whole lines up to 1 MiB
    errors_truncated = fields.BooleanField(default=False)
    error = fields.TextField(null=True)  # why it failed
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField()
    heartbeat_at = fields.DatetimeField()  # a running job not heard of for a minute was cut off
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "import_job"
        indexes = (Index(fields=("workspace_id", "id")),)


class DuplicateDismissal(Model):
    """A pair of contacts someone said are not duplicates (store.duplicates): lower id first."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    contact_a: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name=False
    )
    contact_b: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name=False
    )
    dismissed_by = fields.CharField(max_length=200)
    dismissed_at = fields.DatetimeField()

    class Meta:
        table = "duplicate_dismissal"
        unique_together = (("contact_a", "contact_b"),)
        indexes = (Index(fields=("workspace_id",)), Index(fields=("contact_b_id",)))


class EventSubscription(Model):
    """A URL that receives the workspace's contact and message events (Standard Webhooks).

    `secret` signs every delivery; after a rotation `previous_secret` signs beside it until
    `previous_until`. `failing_since` is the first failure since the last success: past
    store.outbox_delivery.GIVE_UP the subscription is disabled.
    """

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False
    )
    url = fields.CharField(max_length=2048)
    types: Any = fields.JSONField(default=list)  # event types; empty = every type
    description = fields.CharField(max_length=200, default="")
    secret = fields.CharField(max_length=100)
    previous_secret = fields.CharField(max_length=100, null=True)
    previous_until = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    failing_since = fields.DatetimeField(null=True)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "event_subscription"
        indexes = (Index(fields=("workspace_id", "active")),)


class OutboxEvent(Model):
    """One event for one subscription, written in the transaction of its change.

    `state` is pending | delivered | failed (given up); the webhook-id is `msg_<event_id>`,
    the same for every subscription and every retry.
    """

    id = fields.BigIntField(primary_key=True)
    event_id = fields.CharField(max_length=40)
    subscription: fields.ForeignKeyRelation[EventSubscription] = fields.ForeignKeyField(
        "models.EventSubscription", related_name=False, on_delete=fields.CASCADE
    )
    contact_id = fields.IntField(null=True)  # no foreign key: a deleted contact keeps its events
    type = fields.CharField(max_length=32)
    payload = fields.TextField(null=True)  # the JSON body exactly as sent (see message_id)
    # message.received is written by reference (the ingest path builds no body): the deliverer
    # renders the body from this message when it first claims the event, and keeps it.
    message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()
    state = fields.CharField(max_length=10, default="pending")
    next_try_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_status = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_event"
        indexes = (
            Index(fields=("state", "id")),  # the due events, oldest first
            Index(fields=("subscription_id", "contact_id", "state", "id")),  # a contact's order
        )
