"""A real webhook receiver for the tests and benchmarks: a separate process, as a platform's
would be. It checks each request's signature with Tutela's own verifier, answers 500 to a
chosen fraction of requests (seeded), and appends every request it accepted, one JSON object
per line, to a log file the tests read.

    python tests/webhook_receiver.py --port 8123 --secret s3cret --log /tmp/hooks.jsonl [--fail-rate 0.3]
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tutela.actions.signing import HEADER, SignatureError, verify


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    log = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 (open for the process's life)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(200, b"ok")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                verify(args.secret, self.headers.get(HEADER), body)
            except SignatureError as e:
                self._answer(401, str(e).encode())
                return
            with lock:
                fail = rng.random() < args.fail_rate
                if not fail:
                    entry = {
                        "delivery_id": self.headers.get("Tutela-Delivery"),
                        "event": self.headers.get("Tutela-Event"),
                        "attempt": int(self.headers.get("Tutela-Attempt", "0")),
                        "received_at": time.time(),
                        "payload": json.loads(body),
                    }
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
            self._answer(500 if fail else 204, b"chosen to fail" if fail else b"")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
