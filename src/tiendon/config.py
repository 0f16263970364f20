"""Reading the node's configuration from the environment, failing early with one clear message.

Settings import this module; nothing here touches Django's machinery, so a bad value
stops the process before any database or app is loaded.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

SUPPORTED_DB_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


class ConfigError(ImproperlyConfigured):
    """A configuration value is missing or malformed; the message names the variable."""


def env_flag(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def prepare_data_dir() -> Path:
    """The folder holding the SQLite database, blobs and the generated secret key."""
    raw = os.environ.get("TIENDON_DATA_DIR") or str(Path.cwd() / "var")
    path = Path(raw).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"TIENDON_DATA_DIR={raw!r} cannot be created: {exc.strerror}") from exc
    if not path.is_dir():
        raise ConfigError(f"TIENDON_DATA_DIR={raw!r} is not a directory")
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(f"TIENDON_DATA_DIR={raw!r} is not readable and writable by this process")
    return path


def load_secret_key(data_dir: Path) -> str:
    """TIENDON_SECRET_KEY, or a key generated once and kept in the data folder."""
    key = os.environ.get("TIENDON_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError("TIENDON_SECRET_KEY must be at least 32 characters long")
        return key
    key_file = data_dir / "secret_key"
    if key_file.exists():
        try:
            key = key_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{key_file} cannot be read: {exc.strerror}") from exc
        if len(key) < 32:
            raise ConfigError(f"{key_file} holds a key shorter than 32 characters")
        return key
    key = secrets.token_urlsafe(50)
    # Created with owner-only permissions before the key is written.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def database_config(data_dir: Path) -> dict[str, Any]:
    """DATABASE_URL parsed for Django; SQLite under the data folder when it is unset."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(data_dir / "tiendon.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in SUPPORTED_DB_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL has scheme {scheme or '(none)'!r}; expected one of "
            "sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
        )
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ConfigError(
            f"DATABASE_URL has a port that is not a number: {parts.netloc!r}"
        ) from None
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"DATABASE_URL is malformed: {exc}") from exc
    if config["ENGINE"].endswith("sqlite3"):
        if not config.get("NAME") or config["NAME"] == ":memory:":
            raise ConfigError("DATABASE_URL for SQLite needs a file path: sqlite:////abs/path.db")
        config["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
        config["CONN_MAX_AGE"] = 0
    elif not config.get("NAME"):
        raise ConfigError("DATABASE_URL names no database: postgresql://USER@HOST:PORT/NAME")
    return config
