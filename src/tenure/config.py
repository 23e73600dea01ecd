"""Settings, read from the environment (prefix ``TENURE_``) when asked, never at import."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///tenure.db"  # relative to the working directory


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    #: Connections kept open per process on PostgreSQL.
    pool_size: int = 10
    #: Where `tenure serve` listens.
    host: str = "127.0.0.1"
    port: int = 8000
    #: How far ahead recurring schedules are materialized.
    schedule_horizon_days: int = 90
    #: Run the background worker inside `tenure serve` (default on for SQLite, where a single
    #: process should own the database; run `tenure worker` processes for PostgreSQL).
    embedded_worker: bool | None = None
    #: Webhooks to loopback/private/link-local addresses are refused unless allowed (tests).
    webhook_allow_private: bool = False
    #: Freeze the start-up heap out of the garbage collector's full passes once serving
    #: (``tenure.heap``). Off in the tests, which build hundreds of apps in one process.
    freeze_heap_at_start: bool = True
    #: Echo SQL statements (debugging only).
    sql_echo: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
