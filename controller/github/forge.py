"""Adapter: the forge (GitHub, through pygithub). Pull requests, reviews, teams, statuses,
comments, git data, merges and repository settings, as frozen values.

Everything goes through ``Forge`` (a Protocol), so orchestration code and tests can swap the
pygithub adapter. Retries and rate limits live here (see ``controller.github.retry``): reads and
idempotent writes are retried; creates and merges are never repeated blindly. Their callers get
``Uncertain`` and re-read state (``find_pull``, ``get_pull``, ``get_ref``) to learn the outcome.
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
from controller.core.model import FileChange, Review, ReviewState
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
class PullFile:
    path: str
    change: FileChange
    previous_path: str | None = None  # for a rename: the old path (deleted)


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
    def self_login(self) -> str | None: ...
    def get_ref(self, branch: str) -> str | None: ...
    def get_pull(self, number: int) -> PullRequest: ...
    def find_pull(self, head: str, base: str) -> PullRequest | None: ...
    def pull_files(self, number: int) -> tuple[PullFile, ...]: ...
    def reviews(self, number: int) -> tuple[Review, ...]: ...
    def merge_base(self, base: str, head: str) -> str: ...
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
    def update_ref(self, branch: str, sha: str) -> None: ...
    def settings(self, branch: str) -> Settings: ...
    def get_commit(self, sha: str) -> GitCommit: ...
    def compare_files(self, base: str, head: str) -> tuple[PullFile, ...] | None:
        """Files changed from base to head; None when GitHub's list may be truncated."""
        ...

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


_FILE_STATUS = {
    "added": FileChange.ADDED,
    "removed": FileChange.DELETED,
    "modified": FileChange.MODIFIED,
    "changed": FileChange.MODIFIED,
    "copied": FileChange.ADDED,
}


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
        common: dict[str, Any] = {
            "base_url": config.api_url,
            "timeout": config.timeout,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "retry": None,
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
            self._default_branch = str(
                self._get("read the repository", self._api)["default_branch"]
            )
        return self._default_branch

    def self_login(self) -> str | None:
        if self._self_login is None and self.config.token:
            try:
                self._self_login = str(self._get("who am I", "/user")["login"])
            except (JitError, GithubException):
                return None
        return self._self_login

    def get_ref(self, branch: str) -> str | None:
        try:
            data = self._get(f"read ref {branch}", f"{self._api}/git/ref/heads/{_q(branch)}")
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise ForgeError(f"read ref {branch}: {_message(exc)}", exc.status) from None
        return str(data["object"]["sha"])

    def get_pull(self, number: int) -> PullRequest:
        try:
            return _pull(self._get(f"read PR #{number}", f"{self._api}/pulls/{number}"))
        except GithubException as exc:
            raise ForgeError(f"read PR #{number}: {_message(exc)}", exc.status) from None

    def find_pull(self, head: str, base: str) -> PullRequest | None:
        owner = self.repo.split("/", 1)[0]
        params = {"state": "open", "head": f"{owner}:{head}", "base": base, "per_page": 10}
        data = self._get(f"find the PR for {head}", f"{self._api}/pulls", params)
        found = [_pull(p) for p in data if p["head"]["ref"] == head]
        return min(found, key=lambda p: p.number) if found else None

    def pull_files(self, number: int) -> tuple[PullFile, ...]:
        out = []
        for f in self._pages(f"list files of PR #{number}", f"{self._api}/pulls/{number}/files"):
            status = f.get("status")
            if status == "renamed":
                out.append(PullFile(f["filename"], FileChange.ADDED, f.get("previous_filename")))
                if f.get("previous_filename"):
                    out.append(PullFile(f["previous_filename"], FileChange.DELETED))
                continue
            out.append(PullFile(f["filename"], _FILE_STATUS.get(status, FileChange.MODIFIED)))
        return tuple(out)

    def reviews(self, number: int) -> tuple[Review, ...]:
        out = []
        for r in self._pages(
            f"list reviews of PR #{number}", f"{self._api}/pulls/{number}/reviews"
        ):
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

    def merge_base(self, base: str, head: str) -> str:
        data = self._get(
            "compare base and head", f"{self._api}/compare/{base}...{head}", {"per_page": 1}
        )
        return str(data["merge_base_commit"]["sha"])

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
        url = f"{self._api}/issues/{number}/comments"
        return tuple(
            Comment(int(c["id"]), (c.get("user") or {}).get("login", ""), c.get("body") or "")
            for c in self._pages(f"list comments of #{number}", url)
        )

    def settings(self, branch: str) -> Settings:
        protection: Mapping[str, Any] | None
        try:
            protection = self._get(
                "read branch protection", f"{self._api}/branches/{_q(branch)}/protection"
            )
        except GithubException as exc:
            if exc.status != 404:
                raise ForgeError(f"read branch protection: {_message(exc)}", exc.status) from None
            protection = None
        try:
            rules = list(
                self._pages("read branch rules", f"{self._api}/rules/branches/{_q(branch)}")
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
        for path in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
            text = self.read_file(path, branch)
            if text is not None:
                return Settings(branch, protection, rules, rulesets, path, text.decode("utf-8"))
        return Settings(branch, protection, rules, rulesets)

    # --- writes ----------------------------------------------------------------------------

    def _write(self, kind: CallKind, what: str, verb: str, url: str, body: Any = None) -> Any:
        try:
            return self._request(kind, what, verb, url, None, body)[1]
        except GithubException as exc:
            raise ForgeError(f"{what}: {_message(exc)}", exc.status) from None

    def set_status(self, sha: str, state: str, description: str, context: str) -> None:
        body = {"state": state, "description": _clip(description, 140), "context": context}
        self._write(
            CallKind.IDEMPOTENT, "set the status", "POST", f"{self._api}/statuses/{sha}", body
        )

    def create_comment(self, number: int, body: str) -> None:
        self._write(
            CallKind.UNSAFE, "comment", "POST", f"{self._api}/issues/{number}/comments",
            {"body": body},
        )  # fmt: skip

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
        data = self._write(
            CallKind.UNSAFE, "open the pull request", "POST", f"{self._api}/pulls",
            {"title": title, "head": head, "base": base, "body": body},
        )  # fmt: skip
        return _pull(data)

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
        self._write(
            CallKind.IDEMPOTENT, f"update PR #{number}", "PATCH", f"{self._api}/pulls/{number}",
            patch,
        )  # fmt: skip

    def merge(
        self, number: int, *, sha: str, title: str, message: str, method: str = "squash"
    ) -> MergeResult:
        body = {
            "merge_method": method,
            "sha": sha,
            "commit_title": title,
            "commit_message": message,
        }
        try:
            data = self._request(
                CallKind.UNSAFE, f"merge PR #{number}", "PUT",
                f"{self._api}/pulls/{number}/merge", None, body,
            )[1]  # fmt: skip
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
        self._write(
            CallKind.UNSAFE, f"create branch {branch}", "POST", f"{self._api}/git/refs",
            {"ref": f"refs/heads/{branch}", "sha": sha},
        )  # fmt: skip

    def update_ref(self, branch: str, sha: str) -> None:
        """Fast-forward only: GitHub refuses (422) when the branch moved elsewhere meanwhile,
        which makes this a compare-and-swap when ``sha`` descends from the head we read."""
        self._write(
            CallKind.IDEMPOTENT, f"update branch {branch}", "PATCH",
            f"{self._api}/git/refs/heads/{_q(branch)}", {"sha": sha, "force": False},
        )  # fmt: skip

    # --- the requester's side: materialisation, reviewers, open requests ---------------------

    def get_commit(self, sha: str) -> GitCommit:
        data = self._get(f"read commit {sha[:12]}", f"{self._api}/git/commits/{sha}")
        return GitCommit(
            str(data["sha"]),
            str(data["tree"]["sha"]),
            tuple(str(p["sha"]) for p in data.get("parents", [])),
        )

    def compare_files(self, base: str, head: str) -> tuple[PullFile, ...] | None:
        data = self._get("compare two commits", f"{self._api}/compare/{base}...{head}")
        files = data.get("files") or []
        if len(files) >= 300:  # GitHub lists at most 300 files here: never judge a partial list
            return None
        out = []
        for f in files:
            if f.get("status") == "renamed":
                return None
            out.append(
                PullFile(f["filename"], _FILE_STATUS.get(f.get("status"), FileChange.MODIFIED))
            )
        return tuple(out)

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
