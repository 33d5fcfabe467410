"""Routes keyed by GitHub's OpenAPI path templates, and the per-request context."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import GitHubEmulator

# Path parameters that may contain "/" (a ref, a file path, base...head, a branch name).
GREEDY_PARAMS = frozenset({"ref", "path", "basehead", "branch"})


class ApiError(Exception):
    """An error answer: ``{"message": ..., "documentation_url": ...}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(self.status),
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """What a handler sees of one request."""

    emu: GitHubEmulator
    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str]
    body: Any
    login: str

    def json(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    def require(self, key: str) -> Any:
        value = self.json(key)
        if value is None:
            raise ApiError(422, "Invalid request.", [f'"{key}" wasn\'t supplied.'])
        return value

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise not_found() from None

    def paginate(self, items: list[Any]) -> Response:
        """A page of ``items`` with GitHub's Link header (per_page <= 100, page from 1)."""
        try:
            per_page = max(1, min(100, int(self.query.get("per_page", "30"))))
            page = max(1, int(self.query.get("page", "1")))
        except ValueError:
            raise ApiError(422, "Invalid pagination parameters") from None
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def url(p: int) -> str:
            q = dict(self.query) | {"per_page": str(per_page), "page": str(p)}
            return f"{self.emu.base_url}{self.path}?{urllib.parse.urlencode(q)}"

        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        headers = {"Link": ", ".join(links)} if links else {}
        return Response(200, chunk, headers)


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the OpenAPI path template
    handler: Handler
    write: bool
    auth: str  # "token" | "jwt"
    regex: re.Pattern[str]


def compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    out = []
    for part in parts:
        if part.startswith("{"):
            name = part[1:-1]
            out.append(f"(?P<{name}>.+)" if name in GREEDY_PARAMS else f"(?P<{name}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


@dataclass
class Router:
    routes: list[Route] = field(default_factory=list)

    def add(
        self, method: str, template: str, *, write: bool = False, auth: str = "token"
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(method, template, handler, write, auth, compile_template(template))
            )
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            m = route.regex.match(path)
            if m:
                params = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
                return route, params
        return None


def parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
