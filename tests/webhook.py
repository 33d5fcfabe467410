"""A real HTTP server on 127.0.0.1 that records what webhooks receive (the notification tests'
receiving end). ``status`` sets the answer (500: a broken receiver); ``url`` is its address."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Webhook:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.json() for r in self.received if path is None or r.path == path]

    def events(self, path: str | None = None) -> list[tuple[str, str]]:
        return [(b["event"], b["grant"]) for b in self.bodies(path)]


def start_webhook() -> Webhook:
    hook: Webhook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            hook.received.append(
                Received(self.path, self.headers.get("Content-Type", ""), self.rfile.read(n))
            )
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook = Webhook(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return hook


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = start_webhook()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a webhook that is down)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
