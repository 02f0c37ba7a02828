"""Settings: the only place that reads the environment (CONTACTGATE_*) and the config file."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite://./data/contactgate.db"
# CONTACTGATE_* variables read elsewhere: the config file's path, the tests' and benches' servers
OTHER_VARIABLES = frozenset(
    {"CONTACTGATE_CONFIG", "CONTACTGATE_TEST_PG_ADMIN", "CONTACTGATE_BENCH_PG_ADMIN"}
    | {"CONTACTGATE_REQUIRE_PG", "CONTACTGATE_TEST_CLOCK", "CONTACTGATE_TEST_ZONE"}
)


class SettingsError(Exception):
    """Settings that cannot work; the message says which and why."""


def _resolve_env(value: str, what: str) -> str:
    """`env:NAME` means the value of environment variable NAME (secrets stay out of files)."""
    if not value.startswith("env:"):
        return value
    name = value[4:]
    resolved = os.environ.get(name)
    if not resolved:
        raise ValueError(f"{what} refers to environment variable {name}, which is not set")
    return resolved


class WorkspaceDecl(BaseModel):
    """A workspace declared in the config file."""

    slug: str
    name: str | None = None
    plan_cap: int = Field(default=1000, ge=0)
    timezone: str = "UTC"
    default_region: str = "US"


class ChannelDecl(BaseModel):
    """A channel declared in the config file; secret values may be `env:NAME`."""

    workspace: str
    kind: str
    key: str
    name: str = ""
    secrets: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _secrets_from_env(self) -> ChannelDecl:
        self.secrets = {
            k: _resolve_env(v, f"channel {self.key} secret {k}") for k, v in self.secrets.items()
        }
        return self


class AdminDecl(BaseModel):
    """A chat user bound to a workspace role."""

    workspace: str
    platform: Literal["slack", "telegram"]
    user: str
    role: Literal["agent", "admin", "owner"]
    name: str = ""


class TokenDecl(BaseModel):
    """An API token declared in the config file (`token` may be `env:NAME`)."""

    workspace: str
    name: str
    role: Literal["agent", "admin", "owner"]
    token: str

    @field_validator("token")
    @classmethod
    def _token_from_env(cls, value: str) -> str:
        token = _resolve_env(value, "api token")
        if len(token) < 24:
            raise ValueError("api tokens must be at least 24 characters")
        return token


class Settings(BaseSettings):
    """Everything the gateway can be told; environment wins over the config file."""

    model_config = SettingsConfigDict(env_prefix="CONTACTGATE_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = None  # scheme://host[:port] the providers call (Twilio signs it)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    auto_migrate: bool = True
    batch_max_items: int = Field(default=1000, ge=1, le=10_000)
    pg_pool_size: int = Field(default=10, ge=1, le=200)
    channel_cache_seconds: float = Field(default=5.0, ge=0)
    scheduler_seconds: float = Field(default=60.0, gt=0)
    # A multipart SMS whose parts have not all arrived this long after the first is stored as is.
    sms_concat_timeout_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    api_import_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)  # CSV upload limit
    # Web chat token buckets, per gateway process; a rate of 0 turns that limit off.
    webchat_visitor_per_minute: float = Field(default=30.0, ge=0)
    webchat_visitor_burst: int = Field(default=20, ge=1)
    webchat_ip_per_minute: float = Field(default=600.0, ge=0)
    webchat_ip_burst: int = Field(default=200, ge=1)
    webchat_proxy_hops: int = Field(default=0, ge=0, le=10)  # trusted proxies adding XFF
    # Monthly reset: where runs write their export, the lease a dead process leaves behind,
    # the pace of deleting (webhooks get the write lock between batches), catching up misses.
    reset_export_dir: Path = Path("./data/reset-exports")
    reset_lease_seconds: float = Field(default=60.0, ge=1)
    reset_batch: int = Field(default=500, ge=1, le=5000)
    reset_batch_seconds: float = Field(default=0.12, gt=0, le=10)
    reset_pause_seconds: float = Field(default=0.005, ge=0, le=10)
    reset_retry_seconds: float = Field(default=3600.0, ge=0)
    reset_catch_up_hours: float = Field(default=72.0, ge=0)
    workspaces: list[WorkspaceDecl] = Field(default_factory=list)
    channels: list[ChannelDecl] = Field(default_factory=list)
    admins: list[AdminDecl] = Field(default_factory=list)
    tokens: list[TokenDecl] = Field(default_factory=list)
    # Outbound messages: provider API base URLs (tests point them at local fakes) and timeout.
    telegram_api_url: str = "https://api.telegram.org"
    meta_graph_url: str = "https://graph.facebook.com"  # WhatsApp Cloud API and Messenger
    instagram_graph_url: str = "https://graph.facebook.com"  # graph.instagram.com: IG Login
    meta_graph_version: str = Field(default="v24.0", pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")
    twilio_api_url: str = "https://api.twilio.com"
    vonage_api_url: str = "https://rest.nexmo.com"  # Vonage SMS API
    bird_api_url: str = "https://api.bird.com"  # Bird Channels API
    outbound_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # Events out (gateway/events_out.py): the deliverer task, its idle poll and its timeout.
    events_out: bool = True
    events_out_idle_seconds: float = Field(default=1.0, gt=0, le=60)
    events_out_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # Slack admin bot (bots/slack.py): mounted at /slack/events when token and secret are set.
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_command: str = Field(default="/contacts", pattern=r"^/[a-z0-9][a-z0-9_-]{0,31}$")
    slack_api_url: str = "https://slack.com/api"  # Web API base (tests point it at a fake)
    # Telegram admin bot (bots/telegram.py): its own bot, mounted when the token is set; the
    # webhook secret is required with it (Telegram sends it in X-Telegram-Bot-Api-Secret-Token).
    telegram_admin_bot_token: str | None = None
    telegram_admin_webhook_secret: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,256}$"
    )
    telegram_admin_path: str = Field(default="/telegram/admin", pattern=r"^/[A-Za-z0-9_/-]{1,200}$")
    # Signs chat buttons (bots.core); unset, a key is derived from the bot secrets above.
    bot_action_secret: str | None = None

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator(
        "telegram_api_url",
        "meta_graph_url",
        "instagram_graph_url",
        "twilio_api_url",
        "vonage_api_url",
        "bird_api_url",
    )
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value.startswith("sqlite://"):
            return value
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            return "postgres://" + value.split("://", 1)[1]
        raise ValueError("must start with sqlite:// or postgres:// (e.g. sqlite://./data/cg.db)")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _telegram_admin_secret(self) -> Settings:
        if self.telegram_admin_bot_token and not self.telegram_admin_webhook_secret:
            raise ValueError(
                "telegram_admin_bot_token needs telegram_admin_webhook_secret (the secret_token"
                " given to setWebhook)"
            )
        return self

    @model_validator(mode="after")
    def _slack_pair(self) -> Settings:
        if self.slack_bot_token and not self.slack_signing_secret:
            raise ValueError(
                "slack_bot_token needs slack_signing_secret (the app's Signing Secret: without"
                " it /slack/events is not mounted)"
            )
        if self.slack_signing_secret and not self.slack_bot_token:
            raise ValueError("slack_signing_secret needs slack_bot_token (the bot's xoxb- token)")
        return self

    def sqlite_path(self) -> Path | None:
        """The SQLite file, when the database is SQLite on a file."""
        if not self.database_url.startswith("sqlite://"):
            return None
        path = self.database_url[len("sqlite://") :].split("?", 1)[0]
        return None if path == ":memory:" else Path(path)


def load_settings(config: str | None = None, **overrides: Any) -> Settings:
    """Settings from overrides, the environment, then the config file (or CONTACTGATE_CONFIG)."""
    path = config or os.environ.get("CONTACTGATE_CONFIG")
    if path and not Path(path).is_file():
        raise SettingsError(f"config file {path} does not exist")

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources = [init_settings, env_settings]
            if path:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            return tuple(sources)

    try:
        return _FromFile(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from exc
    except ValueError as exc:  # a TOML syntax error
        raise SettingsError(f"config file {path}: {exc}") from exc


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each CONTACTGATE_* variable that is no setting, naming the closest one."""
    prefix = "CONTACTGATE_"
    known = {f"{prefix}{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    suffixes = sorted(k.removeprefix(prefix) for k in known)
    warnings = []
    for name in sorted(n.upper() for n in environ if n.upper().startswith(prefix)):
        if name not in known:
            close = difflib.get_close_matches(name.removeprefix(prefix), suffixes, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            warnings.append(f"{name} is not a setting and is ignored{hint}")
    return warnings


def _describe(exc: ValidationError) -> str:
    lines = ["invalid settings:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)
