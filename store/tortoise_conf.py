"""Tortoise config for `tortoise --config store.tortoise_conf.TORTOISE_ORM makemigrations`."""

import os

from store.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("CONTACTGATE_DATABASE_URL", "sqlite://:memory:"))
