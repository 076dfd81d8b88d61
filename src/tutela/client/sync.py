"""The blocking client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import httpx

from tutela import __version__
from tutela.client import calls
from tutela.client.calls import Call, Retries
from tutela.client.errors import TransportError

T = TypeVar("T")
P = ParamSpec("P")


def endpoint(build: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    """A method that sends the call `build` makes (its signature and docstring are the method's)."""

    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    method.__name__ = method.__qualname__ = build.__name__
    method.__doc__ = build.__doc__
    return method


class Client:
    """Tutela's API, blocking. One client per process; it keeps connections open.

        with Client("http://127.0.0.1:8000", api_key) as tutela:
            decision = tutela.check(change_id="chg-1", actor="u1", object="pl-1", field="title", text="hi")

    Every method is a call of `tutela.client.calls`, sent with retries (`Retries`).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: Retries | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.retries = retries or Retries()
        self._http = http or httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": f"tutela-python/{__version__}"},
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Send one call, retrying as `self.retries` says; raise the API's error or TransportError."""
        delays = self.retries.delays()
        while True:
            try:
                response = self._http.request(call.method, call.path, json=call.json, params=call.params, files=call.files)
            except httpx.TransportError as e:
                delay = calls.retry_after_transport_error(call, e, delays)
                if delay is None:
                    raise TransportError(f"{call.method} {call.path}: {type(e).__name__}: {e}") from e
                time.sleep(delay)
                continue
            delay = calls.retry_after_status(call, response, self.retries, delays)
            if delay is not None:
                time.sleep(delay)
                continue
            return calls.result(call, response)

    # ---- accounts, connections, objects ------------------------------------------------------
    put_account = endpoint(calls.put_account)
    get_account = endpoint(calls.get_account)
    connect = endpoint(calls.connect)
    disconnect = endpoint(calls.disconnect)
    connections = endpoint(calls.connections)
    put_object = endpoint(calls.put_object)
    get_object = endpoint(calls.get_object)
    # ---- checks, decisions, visibility -------------------------------------------------------
    check = endpoint(calls.check)
    get_decision = endpoint(calls.get_decision)
    get_check = endpoint(calls.get_check)
    visible = endpoint(calls.visible)
    # ---- reports and appeals -----------------------------------------------------------------
    report = endpoint(calls.report)
    get_report = endpoint(calls.get_report)
    appeal = endpoint(calls.appeal)
    get_appeal = endpoint(calls.get_appeal)
    # ---- queues and cases (a moderator key) --------------------------------------------------
    queues = endpoint(calls.queues)
    queue_cases = endpoint(calls.queue_cases)
    get_case = endpoint(calls.get_case)
    claim = endpoint(calls.claim)
    release = endpoint(calls.release)
    decide = endpoint(calls.decide)
