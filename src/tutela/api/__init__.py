"""The HTTP API (FastAPI), versioned under /v1.

`create_app` is imported on first use, so that `tutela.api.schemas` (which the Python client
reads its result types from) does not load the server: the app, the store, the detectors and
their models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutela.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from tutela.api.app import create_app

        return create_app
    raise AttributeError(f"module 'tutela.api' has no attribute {name!r}")
