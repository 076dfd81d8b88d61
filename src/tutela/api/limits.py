"""Request body size limit, enforced before the application reads a byte.

A body that declares a Content-Length over the limit is refused at once; a streamed
(chunked) body is read here up to the limit and refused as soon as it passes it. A body
within the limit is handed on unchanged.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutela.api.problems import problem_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, paths: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.paths = paths or {}  # a larger limit for the paths that take images

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        setting = "TUTELA_MAX_IMAGE_BYTES" if scope["path"] in self.paths else "TUTELA_MAX_BODY_BYTES"
        response = problem_response(
            413,
            "body-too-large",
            "Request body too large",
            f"the body exceeds the limit of {limit} bytes on {scope['path']} (set by {setting})",
            scope["path"],
        )
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, limit)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
