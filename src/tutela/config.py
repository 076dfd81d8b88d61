"""Configuration from `TUTELA_*` environment variables. The embedded default needs none.

Every setting, its variable and its default is listed in SETTINGS_DOC (and docs/operations.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    pass


def _raw(name: str) -> str | None:
    raw = os.environ.get(name)
    return None if raw is None or raw == "" else raw


def _int(name: str, default: int) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number (default {default})") from None


def _bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not true or false")


def _float(name: str, default: float) -> float:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number (default {default})") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive (default {default})")
    return value


def _secrets() -> tuple[str, ...]:
    """TUTELA_WEBHOOK_SECRET, or a file of secrets (one per line; the first signs, and during a
    rotation the others sign too) named by TUTELA_WEBHOOK_SECRET_FILE."""
    path = os.environ.get("TUTELA_WEBHOOK_SECRET_FILE")
    if path:
        try:
            lines = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
        except OSError as e:
            raise ConfigError(f"TUTELA_WEBHOOK_SECRET_FILE={path}: cannot read it ({e})") from None
        if not lines:
            raise ConfigError(f"TUTELA_WEBHOOK_SECRET_FILE={path} holds no secret")
        return tuple(lines)
    secret = os.environ.get("TUTELA_WEBHOOK_SECRET")
    if os.environ.get("TUTELA_WEBHOOK_URL") and not secret:
        raise ConfigError(
            "TUTELA_WEBHOOK_URL is set but TUTELA_WEBHOOK_SECRET is not: webhooks must be signed; "
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return (secret,) if secret else ()


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
    webhook_url: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    webhook_timeout: float = 5.0
    webhook_max_attempts: int = 30
    webhook_backoff: float = 1.0
    webhook_backoff_max: float = 3600.0
    case_lock_seconds: int = 900
    workers: bool = True  # deliver webhooks and escalate cases from inside `tutela serve`

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
            webhook_url=os.environ.get("TUTELA_WEBHOOK_URL") or None,
            webhook_secrets=_secrets(),
            webhook_timeout=_float("TUTELA_WEBHOOK_TIMEOUT", 5.0),
            webhook_max_attempts=_int("TUTELA_WEBHOOK_MAX_ATTEMPTS", 30),
            webhook_backoff=_float("TUTELA_WEBHOOK_BACKOFF", 1.0),
            webhook_backoff_max=_float("TUTELA_WEBHOOK_BACKOFF_MAX", 3600.0),
            case_lock_seconds=_int("TUTELA_CASE_LOCK_SECONDS", 900),
            workers=_bool("TUTELA_WORKERS", True),
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
    ("TUTELA_WEBHOOK_URL", "(none)", "where webhooks are POSTed; unset: they wait in the outbox until it is set"),
    ("TUTELA_WEBHOOK_SECRET", "(none; required with the URL)", "the HMAC-SHA256 secret webhooks are signed with"),
    (
        "TUTELA_WEBHOOK_SECRET_FILE",
        "(none)",
        "a file of secrets, one per line, instead: the first signs, all sign during a rotation",
    ),
    ("TUTELA_WEBHOOK_TIMEOUT", "5", "seconds to wait for the receiver's answer"),
    ("TUTELA_WEBHOOK_MAX_ATTEMPTS", "30", "attempts before a webhook is dead-lettered (`tutela webhooks dead`)"),
    ("TUTELA_WEBHOOK_BACKOFF", "1", "seconds before the first retry; doubles with each attempt (with jitter)"),
    ("TUTELA_WEBHOOK_BACKOFF_MAX", "3600", "the longest wait between two attempts, in seconds"),
    ("TUTELA_CASE_LOCK_SECONDS", "900", "how long a moderator's claim on a case lasts (claiming again extends it)"),
    ("TUTELA_WORKERS", "true", "deliver webhooks and escalate overdue cases inside `tutela serve` (false: run `tutela worker`)"),
]
