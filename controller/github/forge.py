"""Adapter: the forge (GitHub, through pygithub). Pull requests, reviews, teams, statuses,
comments, git data, merges and repository settings, as frozen values.

Everything goes through ``Forge`` (a Protocol), so orchestration code and tests can swap the
pygithub adapter. Retries and rate limits live here (see ``controller.github.retry``): reads and
idempotent writes are retried; creates and merges are never repeated blindly. Their callers get
``Uncertain`` and re-read state (``find_pull``, ``get_pull``, ``get_ref``) to learn the outcome.

pygithub: typed calls where it has them, on a lazy client (``Github(lazy=True)``: an object named
by its url costs no request until an attribute is read, so ``get_pull(n).merge(...)`` is one PUT):
the repository, refs (``get_git_ref``, ``create_git_ref``), pull requests (``get_pull``,
``get_pulls``, ``create_pull``, ``edit``, ``merge``, ``get_reviews``, ``get_issue_comments``,
``create_issue_comment``), statuses (``get_commit(sha).create_status``) and git data
(``compare``, ``get_git_commit``, ``get_git_tree``, ``get_git_blob``). The raw requests through
its requester, and why:

- ``read_file`` (catalog, CODEOWNERS at the base tip): ``get_contents`` returns a list for a
  directory and no content above 1 MB; the raw call tells a file from anything else itself.
- ``team_members``: the typed way is ``get_organization(org).get_team_by_slug(slug)
  .get_members()``: +1 request per team (the team itself) before its members.
- ``edit_comment``: a comment is reached through ``get_issue_comment(id)``, which reads it
  first: +1 request.
- ``create_tree`` and ``create_commit``: ``create_git_tree`` takes the base as a ``GitTree``
  object and ``create_git_commit`` the parents as ``GitCommit`` objects, each read by
  ``get_git_tree``/``get_git_commit``: +1 request for the tree and +1 per parent, on a run the
  expiry benchmark counts at 8 requests in all.
- ``update_ref``: a lazy ``get_git_ref`` object's url is ``/git/ref/...`` and its ``edit``
  PATCHes that url, not the documented ``/git/refs/{ref}``.
- ``commits_between``: ``compare`` gives the commits as a PaginatedList of 250 per request; the
  raw call reads the one page the expiry branch needs and checks ``total_commits``.
- branch protection, branch rules and rulesets (``doctor``): pygithub has no ruleset API, and
  ``get_branch(b).get_protection()`` costs +1 request for the branch.
- the App's installation for the repository (``GET /repos/{repo}/installation``, with the JWT).
"""

from __future__ import annotations

import base64
import enum
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

import github
import requests
from github import GithubException

from controller.core.errors import JitError
from controller.core.model import Review, ReviewState
from controller.core.times import format_rfc3339, parse_rfc3339
from controller.github.retry import (
    CallKind,
    Failure,
    RetryPolicy,
    Uncertain,
    call_with_retry,
    retry_after_seconds,
)

DEFAULT_API = "https://api.github.com"
STATUS_CONTEXT = "jitctl"


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullRequest:
    number: int
    author: str
    title: str
    body: str
    state: str  # open | closed
    merged: bool
    draft: bool
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    merge_commit_sha: str | None = None
    html_url: str = ""
    head_repo: str = ""  # owner/name of the head branch's repository (a fork differs)
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str


@dataclass(frozen=True)
class GitCommit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_email: str = ""
    committer_email: str = ""
    verified: bool = False  # GitHub verified a signature on it
    message: str = ""  # read by ``commit`` (the git data API); empty where not read


@dataclass(frozen=True)
class TreeItem:
    """One entry of a git tree, as the git data API lists it (mode and type from the tree)."""

    path: str
    mode: str  # "100644" file, "100755" executable, "120000" symlink, "160000" gitlink, "040000"
    type: str  # blob | tree | commit
    sha: str


class MergeOutcome(enum.Enum):
    MERGED = "merged"
    HEAD_MOVED = "head_moved"  # 409: the head is not the sha we judged
    NOT_MERGEABLE = "not_mergeable"  # 405: closed, conflicts, or required checks/reviews
    INVALID = "invalid"  # 422: the request itself was refused
    UNKNOWN = "unknown"  # 5xx or timeout: re-read the pull request to learn what happened


@dataclass(frozen=True)
class MergeResult:
    outcome: MergeOutcome
    sha: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Settings:
    """What ``doctor`` reads: the default branch's protection, rules and rulesets, CODEOWNERS."""

    default_branch: str
    protection: Mapping[str, Any] | None = field(compare=False)
    rules: Sequence[Mapping[str, Any]] = field(compare=False)
    rulesets: Sequence[Mapping[str, Any]] = field(compare=False)
    codeowners_path: str | None = None
    codeowners: str | None = None
    # the expiry branch (jit/expire): its branch protection and the rules that apply to it
    expire_protection: Mapping[str, Any] | None = field(default=None, compare=False)
    expire_rules: Sequence[Mapping[str, Any]] = field(default=(), compare=False)
    allow_rebase_merge: bool | None = None  # None: not visible to this token


@dataclass(frozen=True)
class RepositoryAccess:
    """What one read of the repository says about this token (``publish``'s preflight)."""

    full_name: str
    default_branch: str
    push: bool | None  # may this token push? None: GitHub did not say (e.g. an App token)


class ForgeError(JitError):
    """A clear refusal from the forge (4xx), with its HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, rule="github")
        self.status = status


class Forge(Protocol):
    """The forge operations jitctl uses. Writes marked unsafe may raise ``Uncertain``."""

    repo: str  # owner/name

    def close(self) -> None: ...

    def git_token(self) -> str | None:
        """A token git can fetch with over HTTPS (the same credentials as the API), if any."""
        ...

    def default_branch(self) -> str: ...
    def repository_access(self) -> RepositoryAccess:
        """One authenticated read of the repository: its name, default branch, push right."""
        ...

    def self_login(self) -> str | None: ...
    def get_ref(self, branch: str) -> str | None: ...
    def get_pull(self, number: int) -> PullRequest: ...
    def find_pull(self, head: str, base: str) -> PullRequest | None: ...
    def reviews(self, number: int) -> tuple[Review, ...]: ...
    def compare_status(self, base: str, head: str) -> str:
        """GitHub's compare status of two shas: identical | ahead | behind | diverged."""
        ...

    def commit(self, sha: str) -> GitCommit: ...
    def tree(self, sha: str, recursive: bool = False) -> tuple[tuple[TreeItem, ...], bool]:
        """The entries of tree ``sha`` and whether GitHub truncated the listing."""
        ...

    def blob(self, sha: str) -> bytes: ...
    def commits_between(self, base: str, head: str) -> tuple[GitCommit, ...]:
        """The commits reachable from ``head`` and not from ``base`` (compare)."""
        ...

    def read_file(self, path: str, sha: str) -> bytes | None: ...
    def team_members(self, org: str, slug: str) -> frozenset[str] | None: ...
    def set_status(self, sha: str, state: str, description: str, context: str) -> None: ...
    def comments(self, number: int) -> tuple[Comment, ...]: ...
    def create_comment(self, number: int, body: str) -> None: ...
    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...
    def edit_comment(self, comment_id: int, body: str) -> None: ...
    def create_pull(self, head: str, base: str, title: str, body: str) -> PullRequest: ...
    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
    ) -> None: ...
    def merge(
        self, number: int, *, sha: str, title: str, message: str, method: str = "squash"
    ) -> MergeResult: ...
    def create_tree(self, base_tree: str, deletions: Sequence[str]) -> str: ...
    def create_commit(
        self, message: str, tree: str, parents: Sequence[str], when: datetime
    ) -> GitCommit: ...
    def create_ref(self, branch: str, sha: str) -> None: ...
    def update_ref(self, branch: str, sha: str, *, force: bool = False) -> None: ...
    def settings(self, branch: str, expire_branch: str = "jit/expire") -> Settings: ...
    def create_tree_with(self, base_tree: str, files: Mapping[str, bytes]) -> str: ...
    def open_pulls(self, base: str) -> tuple[PullRequest, ...]: ...
    def requested_reviewers(self, number: int) -> tuple[frozenset[str], frozenset[str]]:
        """(users, team slugs) whose review is requested on the PR now."""
        ...

    def request_reviewers(
        self, number: int, users: Sequence[str], teams: Sequence[str]
    ) -> None: ...


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class ForgeConfig:
    """How to reach the repository. Token, or a GitHub App (id + private key [+ installation])."""

    repo: str
    api_url: str = DEFAULT_API
    token: str | None = field(default=None, repr=False)
    app_id: int | None = None
    app_private_key: str | None = field(default=None, repr=False)
    installation_id: int | None = None
    timeout: int = 30  # seconds per HTTP request (pygithub takes whole seconds)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, repo: str | None = None
    ) -> ForgeConfig:
        """GITHUB_REPOSITORY, GITHUB_API_URL; JITCTL_APP_ID + JITCTL_APP_PRIVATE_KEY(_FILE)
        [+ JITCTL_APP_INSTALLATION_ID] (preferred: PRs it opens trigger workflows), else
        GITHUB_TOKEN; JITCTL_HTTP_TIMEOUT (seconds)."""
        e = os.environ if env is None else env
        name = repo or e.get("GITHUB_REPOSITORY")
        if not name or "/" not in name:
            raise JitError("no repository: set GITHUB_REPOSITORY=owner/name", rule="usage")
        key = e.get("JITCTL_APP_PRIVATE_KEY")
        key_file = e.get("JITCTL_APP_PRIVATE_KEY_FILE")
        if not key and key_file:
            try:
                key = Path(key_file).read_text("utf-8")
            except OSError as exc:
                raise JitError(f"cannot read {key_file}: {exc.strerror}", rule="usage") from None
        app_id = e.get("JITCTL_APP_ID")
        inst = e.get("JITCTL_APP_INSTALLATION_ID")
        token = e.get("GITHUB_TOKEN") or e.get("GH_TOKEN")
        if not (app_id and key) and not token:
            raise JitError(
                "no GitHub credentials: set JITCTL_APP_ID and JITCTL_APP_PRIVATE_KEY(_FILE) for "
                "the GitHub App, or GITHUB_TOKEN",
                rule="usage",
            )
        try:
            return cls(
                repo=name,
                api_url=(e.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/"),
                token=None if app_id and key else token,
                app_id=int(app_id) if app_id and key else None,
                app_private_key=key if app_id else None,
                installation_id=int(inst) if inst and app_id else None,
                timeout=int(e.get("JITCTL_HTTP_TIMEOUT") or 30),
            )
        except ValueError as exc:
            raise JitError(f"bad GitHub configuration: {exc}", rule="usage") from None


# --- the pygithub adapter --------------------------------------------------------------------


def _classify(exc: BaseException) -> tuple[Failure, float | None]:
    if isinstance(exc, GithubException):
        headers = cast(Mapping[str, str], exc.headers or {})
        wait = retry_after_seconds(headers)
        message = str((exc.data or {}).get("message", "")) if isinstance(exc.data, dict) else ""
        if exc.status == 429 or (
            exc.status == 403 and (wait is not None or "rate limit" in message.lower())
        ):
            return Failure.RATE_LIMITED, wait
        if exc.status >= 500:
            return Failure.TRANSIENT, None
        return Failure.FINAL, None
    if isinstance(exc, requests.exceptions.RequestException | ConnectionError | TimeoutError):
        return Failure.TRANSIENT, None
    return Failure.FINAL, None


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    msg = str(data.get("message") or exc)
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        details = [e.get("message") or e.get("code") if isinstance(e, dict) else e for e in errors]
        msg += ": " + "; ".join(str(d) for d in details if d)
    return msg


class GitHubForge:
    """``Forge`` on pygithub's Requester (its auth, transport and exceptions), with our retries
    and pygithub's own retries and throttling switched off."""

    def __init__(self, config: ForgeConfig, policy: RetryPolicy | None = None) -> None:
        self.config = config
        self.repo = config.repo
        self.policy = policy or RetryPolicy()
        self._api = f"/repos/{urllib.parse.quote(config.repo, safe='/')}"
        self._self_login: str | None = None
        self._default_branch: str | None = None
        self._repository: Any = None
        common: dict[str, Any] = {
            "base_url": config.api_url,
            "timeout": config.timeout,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "retry": None,
            "lazy": True,
        }
        if config.app_id is not None and config.app_private_key:
            app = github.Auth.AppAuth(config.app_id, config.app_private_key)
            installation = config.installation_id
            if installation is None:
                installation = self._discover_installation(app, common)
            auth: github.Auth.AppInstallationAuth | github.Auth.Token = app.get_installation_auth(
                installation
            )
            self.gh = github.Github(auth=auth, **common)
        elif config.token:
            auth = github.Auth.Token(config.token)
            self.gh = github.Github(auth=auth, **common)
        else:
            raise JitError("no GitHub credentials", rule="usage")
        self._auth = auth

    def _discover_installation(self, app: github.Auth.AppAuth, common: dict[str, Any]) -> int:
        gi = github.GithubIntegration(auth=app, **common)
        try:
            url = f"{self._api}/installation"

            def get() -> tuple[dict[str, Any], Any]:
                return gi.requester.requestJsonAndCheck("GET", url)

            data = self._call(CallKind.READ, "find the app installation", get)[1]
            slug = data.get("app_slug")
            if slug:
                self._self_login = f"{slug}[bot]"
            return int(data["id"])
        except GithubException as exc:
            raise ForgeError(
                f"the GitHub App is not installed on {self.repo}? {_message(exc)}", exc.status
            ) from None
        finally:
            gi.close()

    def close(self) -> None:
        self.gh.close()

    def git_token(self) -> str | None:
        return str(self._auth.token) if self._auth is not None else None

    def __enter__(self) -> GitHubForge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing --------------------------------------------------------------------------

    def _call(self, kind: CallKind, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return call_with_retry(self.policy, kind, what, fn, _classify)
        except Uncertain as exc:
            if kind is CallKind.UNSAFE:
                raise
            raise JitError(f"GitHub: {what}: {exc.cause}", rule="github") from None

    def _request(
        self,
        kind: CallKind,
        what: str,
        verb: str,
        url: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> tuple[dict[str, Any], Any]:
        req = self.gh.requester

        def go() -> tuple[dict[str, Any], Any]:
            return req.requestJsonAndCheck(verb, url, parameters=params, input=body)

        return cast(tuple[dict[str, Any], Any], self._call(kind, what, go))

    def _get(self, what: str, url: str, params: dict[str, Any] | None = None) -> Any:
        return self._request(CallKind.READ, what, "GET", url, params)[1]

    def _pages(self, what: str, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        next_url: str | None = url
        while next_url:
            headers, data = self._request(CallKind.READ, what, "GET", next_url, query)
            yield from data or []
            query = None  # the next link carries the query
            next_url = _next_link(headers)

    # --- reads -----------------------------------------------------------------------------

    def default_branch(self) -> str:
        if self._default_branch is None:
            try:
                self._default_branch = str(
                    self._call(
                        CallKind.READ, "read the repository", lambda: self._repo.default_branch
                    )
                )
            except GithubException as exc:
                raise ForgeError(f"read the repository: {_message(exc)}", exc.status) from None
        return self._default_branch

    def repository_access(self) -> RepositoryAccess:
        try:
            data = self._call(CallKind.READ, "read the repository", lambda: self._repo.raw_data)
        except GithubException as exc:
            raise ForgeError(f"read the repository: {_message(exc)}", exc.status) from None
        perms = data.get("permissions")
        push = perms.get("push") if isinstance(perms, dict) else None
        self._default_branch = str(data.get("default_branch") or "") or self._default_branch
        return RepositoryAccess(
            str(data.get("full_name") or self.repo),
            str(data.get("default_branch") or ""),
            None if push is None else bool(push),
        )

    def self_login(self) -> str | None:
        if self._self_login is None and self.config.token:
            try:
                self._self_login = str(self._get("who am I", "/user")["login"])
            except (JitError, GithubException):
                return None
        return self._self_login

    def get_ref(self, branch: str) -> str | None:
        def go() -> str:
            return str(self._repo.get_git_ref(f"heads/{branch}").object.sha)

        try:
            return cast(str, self._call(CallKind.READ, f"read ref {branch}", go))
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise ForgeError(f"read ref {branch}: {_message(exc)}", exc.status) from None

    def get_pull(self, number: int) -> PullRequest:
        def go() -> PullRequest:
            return _pull(self._repo.get_pull(number).raw_data)

        try:
            return cast(PullRequest, self._call(CallKind.READ, f"read PR #{number}", go))
        except GithubException as exc:
            raise ForgeError(f"read PR #{number}: {_message(exc)}", exc.status) from None

    def find_pull(self, head: str, base: str) -> PullRequest | None:
        owner = self.repo.split("/", 1)[0]

        def go() -> list[dict[str, Any]]:
            pulls = self._repo.get_pulls(state="open", head=f"{owner}:{head}", base=base)
            return [p.raw_data for p in pulls]

        data = self._call(CallKind.READ, f"find the PR for {head}", go)
        found = [_pull(p) for p in data if p["head"]["ref"] == head]
        return min(found, key=lambda p: p.number) if found else None

    def reviews(self, number: int) -> tuple[Review, ...]:
        def go() -> list[dict[str, Any]]:
            return [r.raw_data for r in self._repo.get_pull(number).get_reviews()]

        out = []
        for r in self._call(CallKind.READ, f"list reviews of PR #{number}", go):
            if not r.get("user"):
                continue
            try:
                state = ReviewState(r["state"])
            except ValueError:
                continue
            submitted = r.get("submitted_at")
            out.append(
                Review(
                    login=r["user"]["login"],
                    state=state,
                    commit=r.get("commit_id") or "",
                    submitted_at=parse_rfc3339(submitted) if submitted else None,
                    id=int(r["id"]),
                )
            )
        return tuple(out)

    @property
    def _repo(self) -> Any:
        """pygithub's Repository, lazy: no request until an attribute is read."""
        if self._repository is None:
            self._repository = self.gh.get_repo(self.repo)
        return self._repository

    def compare_status(self, base: str, head: str) -> str:
        def go() -> str:
            return str(self._repo.compare(base, head).status)

        try:
            return cast(str, self._call(CallKind.READ, "compare base and head", go))
        except GithubException as exc:
            raise ForgeError(
                f"compare {base[:12]}...{head[:12]}: {_message(exc)}", exc.status
            ) from None

    def commit(self, sha: str) -> GitCommit:
        def go() -> GitCommit:
            c = self._repo.get_git_commit(sha)
            raw = c.raw_data
            return GitCommit(
                str(c.sha),
                str(c.tree.sha),
                tuple(str(p["sha"]) for p in raw.get("parents", [])),
                str((raw.get("author") or {}).get("email") or ""),
                str((raw.get("committer") or {}).get("email") or ""),
                bool((raw.get("verification") or {}).get("verified")),
                str(raw.get("message") or ""),
            )

        try:
            return cast(GitCommit, self._call(CallKind.READ, f"read commit {sha[:12]}", go))
        except GithubException as exc:
            raise ForgeError(f"read commit {sha[:12]}: {_message(exc)}", exc.status) from None

    def tree(self, sha: str, recursive: bool = False) -> tuple[tuple[TreeItem, ...], bool]:
        def go() -> tuple[tuple[TreeItem, ...], bool]:
            t = self._repo.get_git_tree(sha, recursive=recursive)
            items = tuple(TreeItem(e.path, e.mode, e.type, e.sha) for e in t.tree)
            return items, bool(t.raw_data.get("truncated"))

        try:
            return cast(
                tuple[tuple[TreeItem, ...], bool],
                self._call(CallKind.READ, f"read tree {sha[:12]}", go),
            )
        except GithubException as exc:
            raise ForgeError(f"read tree {sha[:12]}: {_message(exc)}", exc.status) from None

    def blob(self, sha: str) -> bytes:
        def go() -> bytes:
            b = self._repo.get_git_blob(sha)
            if b.encoding != "base64":
                return str(b.content).encode("utf-8")
            return base64.b64decode(b.content or "")

        try:
            return cast(bytes, self._call(CallKind.READ, f"read blob {sha[:12]}", go))
        except GithubException as exc:
            raise ForgeError(f"read blob {sha[:12]}: {_message(exc)}", exc.status) from None

    def commits_between(self, base: str, head: str) -> tuple[GitCommit, ...]:
        # compare lists at most 250 commits per page; the expiry branch holds one or two
        data = self._get(
            "list commits between", f"{self._api}/compare/{base}...{head}", {"per_page": 100}
        )
        out = []
        for c in data.get("commits", []):
            raw = c.get("commit") or {}
            out.append(
                GitCommit(
                    str(c["sha"]),
                    str((raw.get("tree") or {}).get("sha") or ""),
                    tuple(str(p["sha"]) for p in c.get("parents", [])),
                    str((raw.get("author") or {}).get("email") or ""),
                    str((raw.get("committer") or {}).get("email") or ""),
                    bool((raw.get("verification") or {}).get("verified")),
                )
            )
        if int(data.get("total_commits") or 0) != len(out):
            raise JitError(
                f"{base[:12]}...{head[:12]}: {data.get('total_commits')} commits, "
                f"listed {len(out)}",
                rule="github",
            )
        return tuple(out)

    def read_file(self, path: str, sha: str) -> bytes | None:
        try:
            data = self._get(f"read {path}", f"{self._api}/contents/{_q(path)}", {"ref": sha})
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise ForgeError(f"read {path} at {sha[:12]}: {_message(exc)}", exc.status) from None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        if data.get("encoding") == "base64":
            return base64.b64decode(data.get("content") or "")
        # larger than the contents API inlines: read the blob
        blob = self._get(f"read blob of {path}", f"{self._api}/git/blobs/{data['sha']}")
        return base64.b64decode(blob.get("content") or "")

    def team_members(self, org: str, slug: str) -> frozenset[str] | None:
        try:
            members = self._pages(
                f"list team {org}/{slug}", f"/orgs/{_q(org)}/teams/{_q(slug)}/members"
            )
            return frozenset(str(m["login"]) for m in members)
        except GithubException as exc:
            if exc.status in (403, 404):
                return None
            raise ForgeError(f"list team {org}/{slug}: {_message(exc)}", exc.status) from None

    def comments(self, number: int) -> tuple[Comment, ...]:
        def go() -> list[dict[str, Any]]:
            return [c.raw_data for c in self._repo.get_pull(number).get_issue_comments()]

        return tuple(
            Comment(int(c["id"]), (c.get("user") or {}).get("login", ""), c.get("body") or "")
            for c in self._call(CallKind.READ, f"list comments of #{number}", go)
        )

    def _protection(self, branch: str) -> Mapping[str, Any] | None:
        try:
            return cast(
                Mapping[str, Any],
                self._get(
                    "read branch protection", f"{self._api}/branches/{_q(branch)}/protection"
                ),
            )
        except GithubException as exc:
            if exc.status != 404:
                raise ForgeError(f"read branch protection: {_message(exc)}", exc.status) from None
            return None

    def settings(self, branch: str, expire_branch: str = "jit/expire") -> Settings:
        protection = self._protection(branch)
        expire_protection = self._protection(expire_branch)
        try:
            rules = list(
                self._pages("read branch rules", f"{self._api}/rules/branches/{_q(branch)}")
            )
            expire_rules = list(
                self._pages("read branch rules", f"{self._api}/rules/branches/{_q(expire_branch)}")
            )
            rulesets = []
            for summary in self._pages("list rulesets", f"{self._api}/rulesets"):
                try:
                    rulesets.append(
                        self._get("read ruleset", f"{self._api}/rulesets/{summary['id']}")
                    )
                except GithubException:
                    rulesets.append(summary)
        except GithubException as exc:
            raise ForgeError(f"read rulesets: {_message(exc)}", exc.status) from None
        found: tuple[str | None, str | None] = (None, None)
        for path in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
            text = self.read_file(path, branch)
            if text is not None:
                found = (path, text.decode("utf-8"))
                break
        repo = self._call(CallKind.READ, "read the repository", lambda: self._repo.raw_data)
        rebase = repo.get("allow_rebase_merge")
        return Settings(
            branch, protection, rules, rulesets, found[0], found[1], expire_protection,
            expire_rules, None if rebase is None else bool(rebase),
        )  # fmt: skip

    # --- writes ----------------------------------------------------------------------------

    def _typed(self, kind: CallKind, what: str, fn: Callable[[], Any]) -> Any:
        """A typed pygithub write, with our retries and our error."""
        try:
            return self._call(kind, what, fn)
        except GithubException as exc:
            raise ForgeError(f"{what}: {_message(exc)}", exc.status) from None

    def _write(self, kind: CallKind, what: str, verb: str, url: str, body: Any = None) -> Any:
        try:
            return self._request(kind, what, verb, url, None, body)[1]
        except GithubException as exc:
            raise ForgeError(f"{what}: {_message(exc)}", exc.status) from None

    def set_status(self, sha: str, state: str, description: str, context: str) -> None:
        def go() -> None:
            self._repo.get_commit(sha).create_status(
                state, description=_clip(description, 140), context=context
            )

        self._typed(CallKind.IDEMPOTENT, "set the status", go)

    def create_comment(self, number: int, body: str) -> None:
        self._typed(
            CallKind.UNSAFE,
            "comment",
            lambda: self._repo.get_pull(number).create_issue_comment(body),
        )

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._write(
            CallKind.IDEMPOTENT, f"label PR #{number}", "POST",
            f"{self._api}/issues/{number}/labels", {"labels": list(labels)},
        )  # fmt: skip

    def edit_comment(self, comment_id: int, body: str) -> None:
        self._write(
            CallKind.IDEMPOTENT, "edit the comment", "PATCH",
            f"{self._api}/issues/comments/{comment_id}", {"body": body},
        )  # fmt: skip

    def create_pull(self, head: str, base: str, title: str, body: str) -> PullRequest:
        def go() -> PullRequest:
            return _pull(
                self._repo.create_pull(base=base, head=head, title=title, body=body).raw_data
            )

        return cast(PullRequest, self._typed(CallKind.UNSAFE, "open the pull request", go))

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
    ) -> None:
        patch = {
            k: v for k, v in (("title", title), ("body", body), ("state", state)) if v is not None
        }
        self._typed(
            CallKind.IDEMPOTENT,
            f"update PR #{number}",
            lambda: self._repo.get_pull(number).edit(**patch),
        )

    def merge(
        self, number: int, *, sha: str, title: str, message: str, method: str = "squash"
    ) -> MergeResult:
        def go() -> Any:
            return self._repo.get_pull(number).merge(
                commit_message=message, commit_title=title, merge_method=method, sha=sha
            )

        try:
            data = self._call(CallKind.UNSAFE, f"merge PR #{number}", go).raw_data
        except Uncertain as exc:
            return MergeResult(MergeOutcome.UNKNOWN, None, str(exc.cause))
        except GithubException as exc:
            outcome = {
                409: MergeOutcome.HEAD_MOVED,
                405: MergeOutcome.NOT_MERGEABLE,
                422: MergeOutcome.INVALID,
            }.get(exc.status)
            if outcome is None:
                raise ForgeError(f"merge PR #{number}: {_message(exc)}", exc.status) from None
            return MergeResult(outcome, None, _message(exc))
        return MergeResult(MergeOutcome.MERGED, str(data.get("sha") or ""), "merged")

    def create_tree(self, base_tree: str, deletions: Sequence[str]) -> str:
        # Trees are content-addressed: repeating the request makes the same tree.
        entries = [{"path": p, "mode": "100644", "type": "blob", "sha": None} for p in deletions]
        data = self._write(
            CallKind.IDEMPOTENT, "create the tree", "POST", f"{self._api}/git/trees",
            {"base_tree": base_tree, "tree": entries},
        )  # fmt: skip
        return str(data["sha"])

    def create_commit(
        self, message: str, tree: str, parents: Sequence[str], when: datetime
    ) -> GitCommit:
        # Pinned identity and date: repeating the request makes the same commit object.
        who = {"name": "jitctl", "email": "jitctl@users.noreply.github.com"}
        stamp = format_rfc3339(when.replace(microsecond=0))
        data = self._write(
            CallKind.IDEMPOTENT, "create the commit", "POST", f"{self._api}/git/commits",
            {
                "message": message,
                "tree": tree,
                "parents": list(parents),
                "author": {**who, "date": stamp},
                "committer": {**who, "date": stamp},
            },
        )  # fmt: skip
        return GitCommit(
            str(data["sha"]),
            str(data["tree"]["sha"]),
            tuple(str(p["sha"]) for p in data.get("parents", [])),
        )

    def create_ref(self, branch: str, sha: str) -> None:
        self._typed(
            CallKind.UNSAFE, f"create branch {branch}",
            lambda: self._repo.create_git_ref(f"refs/heads/{branch}", sha),
        )  # fmt: skip

    def update_ref(self, branch: str, sha: str, *, force: bool = False) -> None:
        """Fast-forward only by default: GitHub refuses (422) when the branch moved elsewhere
        meanwhile, which makes this a compare-and-swap when ``sha`` descends from the head we
        read. ``force`` replaces the branch (the expiry run rebuilding it from the base)."""
        self._write(
            CallKind.IDEMPOTENT, f"update branch {branch}", "PATCH",
            f"{self._api}/git/refs/heads/{_q(branch)}", {"sha": sha, "force": force},
        )  # fmt: skip

    # --- the requester's side: materialisation, reviewers, open requests ---------------------

    def create_tree_with(self, base_tree: str, files: Mapping[str, bytes]) -> str:
        # Trees are content-addressed: repeating the request makes the same tree.
        entries = [
            {"path": p, "mode": "100644", "type": "blob", "content": data.decode("utf-8")}
            for p, data in sorted(files.items())
        ]
        data = self._write(
            CallKind.IDEMPOTENT, "create the tree", "POST", f"{self._api}/git/trees",
            {"base_tree": base_tree, "tree": entries},
        )  # fmt: skip
        return str(data["sha"])

    def open_pulls(self, base: str) -> tuple[PullRequest, ...]:
        params = {"state": "open", "base": base, "sort": "created", "direction": "asc"}
        pulls = self._pages("list open pull requests", f"{self._api}/pulls", params)
        return tuple(_pull(p) for p in pulls)

    def requested_reviewers(self, number: int) -> tuple[frozenset[str], frozenset[str]]:
        data = self._get(
            f"read the reviewers requested on #{number}",
            f"{self._api}/pulls/{number}/requested_reviewers",
        )
        users = frozenset(str(u["login"]) for u in data.get("users") or [])
        teams = frozenset(str(t["slug"]) for t in data.get("teams") or [])
        return users, teams

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None:
        # Idempotent on GitHub: asking someone already asked changes nothing.
        self._write(
            CallKind.IDEMPOTENT, f"request reviewers on #{number}", "POST",
            f"{self._api}/pulls/{number}/requested_reviewers",
            {"reviewers": list(users), "team_reviewers": list(teams)},
        )  # fmt: skip


def _q(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _next_link(headers: Mapping[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "link":
            m = _LINK_NEXT.search(value)
            return m.group(1) if m else None
    return None


def _pull(data: Mapping[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(data["number"]),
        author=str((data.get("user") or {}).get("login", "")),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or ""),
        merged=bool(data.get("merged") or data.get("merged_at")),
        draft=bool(data.get("draft")),
        base_ref=str(data["base"]["ref"]),
        base_sha=str(data["base"]["sha"]),
        head_ref=str(data["head"]["ref"]),
        head_sha=str(data["head"]["sha"]),
        merge_commit_sha=data.get("merge_commit_sha"),
        html_url=str(data.get("html_url") or ""),
        head_repo=str(((data.get("head") or {}).get("repo") or {}).get("full_name") or ""),
        labels=tuple(str(label.get("name", "")) for label in data.get("labels") or ()),
        created_at=_time(data.get("created_at")),
    )


def _time(value: Any) -> datetime | None:
    try:
        return parse_rfc3339(str(value)) if value else None
    except ValueError:
        return None
