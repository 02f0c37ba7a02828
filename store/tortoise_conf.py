"""Tortoise config for the `tortoise` CLI (makemigrations): `tortoise --config store.tortoise_conf.TORTOISE_ORM`."""

import os

from store.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("CONTACTGATE_DATABASE_URL", "sqlite://:memory:"))
