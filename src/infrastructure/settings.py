"""Keel's settings, read from `KEEL_*` environment variables."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./keel.db"


class KeelSettings(BaseSettings):
    """Where the database is and how to talk to it.

    The database URL is a secret: it may carry a password, so it is never printed as is.
    """

    model_config = SettingsConfigDict(env_prefix="KEEL_", extra="ignore")

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    echo_sql: bool = False
    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    pool_timeout_seconds: float = Field(default=30, gt=0)
    pool_pre_ping: bool = True
    pool_pre_ping_idle_seconds: float = Field(default=1.0, ge=0)
    """Only a connection that sat in the pool this long is checked (0: every checkout)."""
    pool_recycle_seconds: int = Field(default=1800, ge=-1)
    statement_cache_size: int = Field(default=100, ge=0)
    isolation_level: Literal["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"] | None = None
    sqlite_busy_timeout_seconds: float = Field(default=30, ge=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    retry_attempts: int = Field(default=5, ge=1)
    retry_first_delay_seconds: float = Field(default=0.005, ge=0)
    retry_max_delay_seconds: float = Field(default=0.25, ge=0)
    event_handlers: str | None = Field(default=None, pattern=r"^[\w.]+:\w+$")
    """`package.module:function`: called with the `EventHandlers` registry to fill it."""
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_first_retry_seconds: float = Field(default=1.0, ge=0)
    outbox_max_retry_seconds: float = Field(default=300.0, ge=0)
    outbox_lease_seconds: float = Field(default=60.0, ge=0)
