"""Settings from IMS_* environment variables (and an optional .env file)."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values people paste from tutorials; never acceptable as a production key.
_PLACEHOLDER_SECRETS = {
    "changeme", "change-me", "changethis", "secret", "secret-key", "secretkey", "password",
    "your-secret-key", "development", "dev", "test", "insecure", "default", "please-change-me",
}
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMS_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    secret_key: SecretStr | None = None

    # Tokens expire after this much inactivity, and in any case after the absolute lifetime.
    token_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    token_max_hours: int = Field(12, ge=1, le=24 * 7)
    # Failed-login throttling per account (email), counted within the lockout window.
    login_max_failures: int = Field(5, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)

    max_body_bytes: int = Field(1_048_576, ge=1024)
    export_retention_hours: int = Field(72, ge=1, le=24 * 365)  # export files are deleted this long after
    break_glass_minutes: int = Field(60, ge=5, le=24 * 60)  # how long a break-the-glass access lasts
    # Patient imports carry a whole clinic's list in one file.
    max_import_bytes: int = Field(16 * 1_048_576, ge=1024)
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None
    bootstrap_admin_name: str = "Clinic Administrator"
    log_level: str = "info"
    # Bounded waits on PostgreSQL (seconds): a stopped or frozen database answers 503 within about these.
    db_connect_timeout: float = Field(5, ge=1, le=300)
    db_pool_timeout: float = Field(5, gt=0, le=300)
    db_statement_timeout: float = Field(30, gt=0, le=3600)
    # Requests one process works on at once (never more than its pooled connections); the rest wait their turn
    # on the event loop, holding no thread and no connection (app.kit.admission). A few keep the CPU busy: many
    # at once contend for Python's GIL at every database call, and on a 2-core box 14 did a quarter less work per
    # second than 4 (docs/performance.md, round 7). Raise it when the database is across a network.
    max_active_requests: int = Field(4, ge=1, le=1000)
    # An Idempotency-Key whose request is still "in flight" after this long (its process died before
    # committing anything) may be claimed again by a retry.
    idempotency_lease_seconds: int = Field(60, ge=1, le=3600)
    # Background work (webhook delivery) inside the API process: default on for the embedded SQLite
    # setup, off for PostgreSQL deployments, which run `imschart worker` separately.
    worker_in_process: bool | None = None

    @property
    def is_production(self) -> bool:
        """The one place "production" is decided: strong secrets, a real database, public webhook receivers."""
        return self.env == "production"

    @property
    def run_worker_in_process(self) -> bool:
        if self.worker_in_process is not None:
            return self.worker_in_process
        return self.env != "test" and self.sqlalchemy_url.startswith("sqlite")

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Settings:
        if self.is_production:
            problem = weak_secret_reason(self.secret_key.get_secret_value() if self.secret_key else None)
            if problem:
                raise ValueError(f"IMS_SECRET_KEY {problem}; production refuses to start without a strong key")
            if not self.database_url:
                raise ValueError("IMS_DATABASE_URL is required in production")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'imschart.db').as_posix()}"

    def resolved_secret_key(self, *, create: bool = True) -> str:
        """The configured key, or in development one generated once and kept in the data directory.

        `create=False` is for commands that check or read what exists (`audit verify`, `export`): run in the
        wrong directory they must say the key is missing, not make up a new one there.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists() and not create:
            raise MissingSecretKey(f"No secret key: IMS_SECRET_KEY is not set and there is no {path.resolve()}. "
                                   "Run this where the server runs, or set IMS_SECRET_KEY (or IMS_DATA_DIR) "
                                   "to the key the server uses")
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            _create_key_file(path)
        key = path.read_text().strip()
        if not key:
            raise RuntimeError(f"{path} is empty: set IMS_SECRET_KEY, or delete the file to generate a new key")
        return key


class MissingSecretKey(RuntimeError):
    """A read-only command found no key to use (and must not generate one)."""


def _create_key_file(path: Path) -> None:
    """Write a new key privately, then link it into place.

    Several processes may start at once (`serve --workers N`): each sees either no key file or a complete
    one, never a half-written one, and the first link wins, so they all end up with the same key.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process got there first: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def weak_secret_reason(value: str | None) -> str | None:
    if not value:
        return "is missing"
    if value.strip().lower() in _PLACEHOLDER_SECRETS:
        return "is a placeholder value"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < 10:
        return "has too little variety to be a random key"
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
