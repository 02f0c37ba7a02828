"""Settings: environment over config file, declarations, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings, unknown_variables

CONFIG = """
database_url = "sqlite://./data/from-file.db"
port = 9000

[[workspaces]]
slug = "acme"
plan_cap = 500
timezone = "America/Guayaquil"
default_region = "EC"

[[channels]]
workspace = "acme"
kind = "whatsapp"
key = "wa-acme-0001"
secrets = { app_secret = "env:TEST_WA_SECRET", verify_token = "plain-verify" }

[[admins]]
workspace = "acme"
platform = "telegram"
user = "111222333"
role = "owner"

[[tokens]]
workspace = "acme"
name = "crm-sync"
role = "admin"
token = "env:TEST_API_TOKEN"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "contactgate.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("TEST_WA_SECRET", "s3cret-from-env")
    monkeypatch.setenv("TEST_API_TOKEN", "tok_" + "x" * 30)
    return path


def test_config_file_declares_workspaces_channels_admins_tokens(config_file: Path) -> None:
    settings = load_settings(str(config_file))
    assert settings.port == 9000
    assert settings.workspaces[0].model_dump() == {
        "slug": "acme",
        "name": None,
        "plan_cap": 500,
        "timezone": "America/Guayaquil",
        "default_region": "EC",
    }
    assert settings.channels[0].secrets == {
        "app_secret": "s3cret-from-env",
        "verify_token": "plain-verify",
    }
    assert settings.admins[0].role == "owner"
    assert settings.tokens[0].token == "tok_" + "x" * 30


def test_environment_wins_over_config_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTGATE_PORT", "9100")
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", "postgresql://u@db:5432/cg")
    settings = load_settings(str(config_file))
    assert (settings.port, settings.database_url) == (9100, "postgres://u@db:5432/cg")


def test_defaults_need_no_file() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite://./data/contactgate.db"
    assert settings.sqlite_path() == Path("data/contactgate.db")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"database_url": "mysql://x"}, "database_url: Value error, must start with sqlite://"),
        ({"port": 0}, "port: Input should be greater than or equal to 1"),
        ({"public_url": "gw.example.com"}, "public_url: Value error, must start with http://"),
        ({"log_level": "LOUD"}, "log_level: Input should be 'DEBUG'"),
    ],
)
def test_bad_values_are_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**overrides)
    assert message in str(err.value)


def test_secret_from_unset_environment_variable_is_an_error(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_WA_SECRET")
    with pytest.raises(SettingsError) as err:
        load_settings(str(config_file))
    assert "channel wa-acme-0001 secret app_secret refers to environment variable" in str(err.value)


def test_missing_config_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(str(tmp_path / "nope.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 3")
    with pytest.raises(SettingsError, match=r"broken\.toml"):
        load_settings(str(broken))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"slack_bot_token": "xoxb-1-2-abc"},
            "slack_bot_token needs slack_signing_secret (the app's Signing Secret: without it"
            " /slack/events is not mounted)",
        ),
        (
            {"slack_signing_secret": "8f742231b10e"},
            "slack_signing_secret needs slack_bot_token (the bot's xoxb- token)",
        ),
    ],
)
def test_a_slack_token_without_its_signing_secret_is_refused(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**overrides)
    assert str(err.value) == f"invalid settings:\n  settings: Value error, {message}"


def test_unknown_variables_are_named_with_the_closest_setting() -> None:
    environ = {
        "CONTACTGATE_DATABSE_URL": "sqlite://x.db",
        "contactgate_log_levle": "DEBUG",
        "CONTACTGATE_PORT": "9000",
        "CONTACTGATE_CONFIG": "cg.toml",
        "CONTACTGATE_TEST_PG_ADMIN": "postgres://x",
        "CONTACTGATE_ZZZ": "1",
        "HOME": "/root",
    }
    assert unknown_variables(environ) == [
        "CONTACTGATE_DATABSE_URL is not a setting and is ignored"
        " (did you mean CONTACTGATE_DATABASE_URL?)",
        "CONTACTGATE_LOG_LEVLE is not a setting and is ignored"
        " (did you mean CONTACTGATE_LOG_LEVEL?)",
        "CONTACTGATE_ZZZ is not a setting and is ignored",
    ]
