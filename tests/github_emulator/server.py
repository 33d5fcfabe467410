"""The emulator: an HTTP server on 127.0.0.1 plus a Python control API for tests."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .faults import (
    SECONDARY_RATE_LIMIT_DOCS,
    SECONDARY_RATE_LIMIT_MESSAGE,
    Fault,
    FaultPlan,
)
from .gitstore import GitStore, Signature
from .payloads import Shapes, iso
from .routing import ApiError, Ctx, Response, Router, parse_body
from .state import App, Clock, Exchange, PullRequest, RepoState, Team, User

RATE_LIMIT = 5000


class GitHubEmulator:
    """A GitHub repository (REST API) backed by a real bare git repository.

    Create it, add users/teams/apps, ``start()`` it, point pygithub at ``base_url``,
    push branches to ``bare_path`` with plain git, and ``stop()`` it.
    """

    def __init__(
        self,
        root: Path,
        owner: str = "acme",
        repo: str = "access",
        default_branch: str = "main",
        html_base: str = "https://github.com",
    ) -> None:
        self.root = root
        self.git = GitStore.init_bare(root / f"{owner}-{repo}.git", default_branch)
        self.state = RepoState(owner=owner, name=repo, default_branch=default_branch)
        self.clock = Clock()
        self.faults = FaultPlan()
        self.log: list[Exchange] = []
        self.errors: list[BaseException] = []  # unexpected exceptions in handlers
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.html_base = html_base
        self.rate_used: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._move_head_count = 0
        # GitHub documents no entry limit for POST /git/trees, but refuses a request too large
        # to finish in time (422 "Sorry, your request timed out ... building the tree
        # incrementally"); the emulator makes that a fixed size so a test can prove jitctl
        # chains its trees. And GitHub's limit on a pull request's body.
        self.tree_entries_limit = 1000
        self.body_limit = 65536

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> GitHubEmulator:
        from .routes import ROUTER

        self.router: Router = ROUTER
        emu = self

        class Handler(_RequestHandler):
            emulator = emu

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bare_path(self) -> Path:
        return self.git.path

    @property
    def shapes(self) -> Shapes:
        return Shapes(self.base_url, self.html_base, self.state, self.git)

    # -- control API: set-up ---------------------------------------------------------------

    def add_user(
        self,
        login: str,
        token: str | None = None,
        permission: str = "write",
        *,
        email: str | None = None,
        name: str | None = None,
        type: str = "User",
    ) -> User:
        user = User(
            login=login,
            id=self.state.new_id() * 7 + 100_000,
            permission=permission,
            type=type,
            name=name or login.title(),
            email=email or f"{login}@example.com",
        )
        self.state.users[login] = user
        if token:
            self.state.tokens[token] = login
        return user

    def add_token(self, token: str, login: str) -> None:
        self.state.tokens[token] = login

    def add_team(self, org: str, slug: str, members: list[str]) -> Team:
        team = Team(org=org, slug=slug, id=self.state.new_id(), members=list(members))
        self.state.teams[(org, slug)] = team
        return team

    def add_app(
        self,
        app_id: int,
        slug: str = "jitctl-app",
        public_key_pem: bytes | None = None,
        installation_id: int = 4242,
    ) -> App:
        bot = f"{slug}[bot]"
        app = App(app_id, slug, installation_id, public_key_pem, bot)
        self.state.apps[app_id] = app
        self.add_user(bot, permission="write", type="Bot", email=f"{app_id}+{bot}@users.noreply")
        return app

    def protect_branch(self, branch: str, protection: dict[str, Any]) -> None:
        self.state.protections[branch] = protection

    def add_ruleset(self, ruleset: dict[str, Any]) -> None:
        self.state.rulesets.append(ruleset)

    # -- control API: git -----------------------------------------------------------------

    def signature(self, login: str | None = None) -> Signature:
        when = iso(self.clock.tick()) or ""
        if login is None:
            return Signature("GitHub", "noreply@github.com", when)
        user = self.state.users.get(login)
        if user is None:
            return Signature(login, f"{login}@example.com", when)
        return Signature(user.name or login, user.email or f"{login}@example.com", when)

    def commit_files(
        self,
        branch: str,
        files: dict[str, str | None],
        message: str = "update",
        author: str | None = None,
        start: str | None = None,
    ) -> str:
        """Commit ``files`` (path -> text, None deletes) on ``branch``.

        A missing branch starts at ``start`` (default: the default branch, if it exists).
        """
        with self.lock:
            ref = f"refs/heads/{branch}"
            existing = self.git.ref_sha(ref)
            parent = existing or self.git.resolve(start or self.state.default_branch)
            base_tree = self.git.commit_info(parent).tree if parent else None
            changes: list[tuple[str, str, str | None]] = []
            for path, text in files.items():
                sha = None if text is None else self.git.write_blob(text.encode())
                changes.append((path, "100644", sha))
            tree = self.git.build_tree(base_tree, changes)
            sig = self.signature(author)
            sha = self.git.commit_tree(tree, [parent] if parent else [], message, sig, sig)
            self.git.update_ref(ref, sha, existing or "0" * 40)
            return sha

    def ref(self, branch: str) -> str | None:
        return self.git.ref_sha(f"refs/heads/{branch}")

    def refs(self) -> dict[str, str]:
        return dict(self.git.list_refs())

    # -- control API: reading state -------------------------------------------------------

    def pull(self, number: int) -> PullRequest:
        return self.state.pulls[number]

    def requests(self, method: str | None = None, path_regex: str | None = None) -> list[Exchange]:
        """The request log, optionally filtered (``path_regex`` is searched in the path)."""
        rx = re.compile(path_regex) if path_regex else None
        return [
            e
            for e in list(self.log)
            if (method is None or e.method == method.upper()) and (rx is None or rx.search(e.path))
        ]

    def clear_log(self) -> None:
        self.log.clear()

    # -- control API: faults --------------------------------------------------------------

    def inject(
        self,
        method: str,
        path_regex: str,
        kind: str,
        times: int = 1,
        *,
        status: int = 502,
        retry_after: int = 60,
        hold: float = 1.5,
    ) -> Fault:
        """Make the next ``times`` requests matching ``method`` ("*": any) and ``path_regex``
        fail with ``kind``: 5xx | rate_limit | timeout | merge_500_after_merge | move_head."""
        fault = Fault(
            method.upper(), re.compile(path_regex), kind, times, status, retry_after, hold
        )
        return self.faults.add(fault)

    def move_head(self, number: int) -> str:
        """Push a new commit to PR ``number``'s head branch (what a contributor would do)."""
        pr = self.state.pulls[number]
        self._move_head_count += 1
        path = f".emulator/moved-{self._move_head_count}"
        return self.commit_files(pr.head_ref, {path: "moved\n"}, "move head", pr.user)

    # -- request handling -----------------------------------------------------------------

    def authenticate(self, header: str | None, auth: str) -> str:
        if not header:
            raise ApiError(401, "Requires authentication")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() not in ("token", "bearer") or not credential:
            raise ApiError(401, "Bad credentials")
        if auth == "jwt":
            from .appauth import verify_jwt

            return verify_jwt(self.state, credential, now=time.time())
        login = self.state.tokens.get(credential)
        if login is None:
            raise ApiError(401, "Bad credentials")
        return login

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[Response, Exchange]:
        url = urllib.parse.urlsplit(raw_path)
        path = url.path.rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(url.query))
        login: str | None = None
        route_template: str | None = None
        params: dict[str, str] = {}
        body: Any = None
        try:
            body = parse_body(raw_body)
            found = self.router.match(method, path)
            if found is None:
                raise ApiError(404, "Not Found")
            route, params = found
            route_template = route.template
            login = self.authenticate(headers.get("authorization"), route.auth)
            if route.write and route.auth == "token":
                user = self.state.users.get(login)
                if user is None or user.permission not in ("write", "admin"):
                    raise ApiError(403, "Resource not accessible by personal access token")
            ctx = Ctx(self, method, path, query, params, body, login)
            with self.lock:
                response = route.handler(ctx)
        except ApiError as err:
            response = Response(err.status, err.body(), dict(err.headers))
        except Exception as err:  # an emulator bug: answer 500 and keep it for the test
            self.errors.append(err)
            response = Response(500, {"message": f"emulator error: {err!r}"})
        response.headers.update(self.rate_headers(login))
        exchange = Exchange(
            method=method,
            path=path,
            query=url.query,
            status=response.status,
            login=login,
            route=route_template,
            params=params,
            request_body=body,
            response_body=response.body,
            response_headers=dict(response.headers),
        )
        return response, exchange

    def rate_headers(self, login: str | None) -> dict[str, str]:
        key = login or "-"
        used = self.rate_used.get(key, 0) + 1
        self.rate_used[key] = used
        reset = int(self.clock.now.timestamp()) + 3600
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - used)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
        }

    def fault_response(self, fault: Fault, method: str, path: str) -> Response | None:
        """The canned answer of an early fault (None: handle the request normally)."""
        if fault.kind == "5xx":
            return Response(fault.status, {"message": "Server Error"})
        if fault.kind == "rate_limit":
            return Response(
                403,
                {
                    "message": SECONDARY_RATE_LIMIT_MESSAGE,
                    "documentation_url": SECONDARY_RATE_LIMIT_DOCS,
                },
                {"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "move_head":
            m = re.search(r"/pulls/(\d+)", path)
            if m and int(m.group(1)) in self.state.pulls:
                with self.lock:
                    self.move_head(int(m.group(1)))
        return None

    def handle(self, req: _RequestHandler) -> None:
        method = req.command
        length = int(req.headers.get("Content-Length") or 0)
        raw_body = req.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(req.path).path
        fault = self.faults.take(method, path)
        if fault is not None and fault.kind == "timeout":
            self.stopping.wait(fault.hold)
            self.log.append(
                Exchange(method, path, "", 0, None, None, {}, None, None, {"X-Fault": "timeout"})
            )
            req.close_connection = True
            return
        headers = {k.lower(): v for k, v in req.headers.items()}
        early = self.fault_response(fault, method, path) if fault else None
        if early is not None:
            early.headers.update(self.rate_headers(None))
            early.headers["X-Fault"] = fault.kind if fault else ""
            exchange = Exchange(
                method, path, "", early.status, None, None, {}, None, early.body, early.headers
            )
            response = early
        else:
            response, exchange = self.dispatch(method, req.path, headers, raw_body)
            if fault is not None and fault.kind == "merge_500_after_merge":
                response = Response(500, {"message": "Server Error"}, dict(response.headers))
                response.headers["X-Fault"] = fault.kind
                exchange = Exchange(
                    method, path, "", 500, exchange.login, None, {}, exchange.request_body,
                    response.body, response.headers,
                )  # fmt: skip
            elif fault is not None:
                exchange.response_headers["X-Fault"] = fault.kind
        self.log.append(exchange)
        req.send(response)


class _RequestHandler(BaseHTTPRequestHandler):
    emulator: GitHubEmulator
    protocol_version = "HTTP/1.0"
    server_version = "github-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send(self, response: Response) -> None:
        data = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        if response.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def _any(self) -> None:
        self.emulator.handle(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any
