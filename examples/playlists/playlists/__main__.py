"""`python -m playlists`: serve Mixtape with settings from the environment (see README)."""

from __future__ import annotations

import logging

import uvicorn

from playlists.app import create_app
from playlists.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
