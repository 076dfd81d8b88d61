"""The app's settings, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db_path: Path
    port: int = 8100
    host: str = "127.0.0.1"
    tutela_url: str = "http://127.0.0.1:8000"
    tutela_api_key: str = ""
    # Webhooks from Tutela are refused (401) unless they are signed with this secret.
    tutela_webhook_secret: str = ""
    # Signs the session cookie. A random one is made per process when unset, which logs
    # everyone out on restart: set it for anything but a demo.
    session_secret: str = ""
    # How long to wait for Tutela. An image check runs OCR and a classifier: allow for it.
    tutela_timeout: float = 15.0
    max_cover_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            db_path=Path(env.get("PLAYLISTS_DB", "./var/playlists.db")),
            port=int(env.get("PLAYLISTS_PORT", "8100")),
            host=env.get("PLAYLISTS_HOST", "127.0.0.1"),
            tutela_url=env.get("TUTELA_URL", "http://127.0.0.1:8000"),
            tutela_api_key=env.get("TUTELA_API_KEY", ""),
            tutela_webhook_secret=env.get("TUTELA_WEBHOOK_SECRET", ""),
            session_secret=env.get("PLAYLISTS_SECRET", ""),
        )
