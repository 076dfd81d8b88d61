"""Configuration from `TUTELA_*` environment variables. The embedded default needs none.

Every setting, its variable and its default is listed in SETTINGS_DOC (and docs/operations.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    pass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number (default {default})") from None


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not true or false")


@dataclass(frozen=True)
class Settings:
    database_url: str
    policy_path: str | None  # None: the packaged default policy
    host: str
    port: int
    max_body_bytes: int
    max_image_bytes: int
    key_cache_seconds: int
    log_level: str
    log_json: bool
    access_log: bool

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("TUTELA_DATABASE_URL") or f"sqlite:///{Path('var/tutela.db').absolute()}",
            policy_path=os.environ.get("TUTELA_POLICY") or None,
            host=os.environ.get("TUTELA_HOST") or "127.0.0.1",
            port=_int("TUTELA_PORT", 8000),
            max_body_bytes=_int("TUTELA_MAX_BODY_BYTES", 512 * 1024),
            max_image_bytes=_int("TUTELA_MAX_IMAGE_BYTES", 10 * 1024 * 1024),
            key_cache_seconds=_int("TUTELA_KEY_CACHE_SECONDS", 30),
            log_level=(os.environ.get("TUTELA_LOG_LEVEL") or "info").lower(),
            log_json=_bool("TUTELA_LOG_JSON", False),
            access_log=_bool("TUTELA_ACCESS_LOG", False),
        )


SETTINGS_DOC = [
    ("TUTELA_DATABASE_URL", "sqlite:///<working directory>/var/tutela.db", "SQLite file or postgresql://user@host/db"),
    ("TUTELA_POLICY", "(packaged default-child-safety)", "path of the policy YAML file to enforce"),
    ("TUTELA_HOST", "127.0.0.1", "address `tutela serve` listens on"),
    ("TUTELA_PORT", "8000", "port `tutela serve` listens on"),
    ("TUTELA_MAX_BODY_BYTES", "524288", "largest request body accepted; larger gets 413 (checks carrying an image: see below)"),
    (
        "TUTELA_MAX_IMAGE_BYTES",
        "10485760",
        "largest image a check may carry (bytes of the file); a POST /v1/checks body may be a third larger, for base64",
    ),
    ("TUTELA_KEY_CACHE_SECONDS", "30", "how long a verified API key is cached; a revoked key stops working within this"),
    ("TUTELA_LOG_LEVEL", "info", "debug, info, warning or error"),
    ("TUTELA_LOG_JSON", "false", "log one JSON object per line (for log shippers)"),
    ("TUTELA_ACCESS_LOG", "false", "log every HTTP request (uvicorn's access log)"),
]
