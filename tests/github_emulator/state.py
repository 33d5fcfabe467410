"""The emulator's non-git state: users, teams, pull requests, reviews, statuses, comments."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class User:
    login: str
    id: int
    permission: str = "write"  # read | write | admin
    type: str = "User"  # User | Bot | Organization
    name: str | None = None
    email: str | None = None


@dataclass
class Team:
    org: str
    slug: str
    id: int
    members: list[str] = field(default_factory=list)
    name: str = ""


@dataclass
class App:
    id: int
    slug: str
    installation_id: int
    public_key_pem: bytes | None  # None: JWT signatures are not verified
    bot_login: str


@dataclass
class Review:
    id: int
    pr_number: int
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    body: str
    commit_id: str
    submitted_at: datetime


@dataclass
class Status:
    id: int
    sha: str
    state: str  # error | failure | pending | success
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class PullRequest:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    head_ref: str  # branch name in this repository
    base_ref: str
    head_sha: str  # last known head (kept after the branch is deleted)
    base_sha: str  # the base branch's current tip (what merges and mergeability use)
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    draft: bool = False
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    requested_users: list[str] = field(default_factory=list)  # review requested, not yet given
    requested_teams: list[str] = field(default_factory=list)  # team slugs
    # what the API reports as base.sha: like GitHub, the base tip when the PR was opened or its
    # head last moved, NOT kept up to date when only the base branch moves
    reported_base_sha: str = ""
    test_merge_key: tuple[str, str] | None = None  # (base, head) of the test merge commit


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as the emulator saw them."""

    method: str
    path: str  # without the query
    query: str
    status: int
    login: str | None
    route: str | None  # the OpenAPI path template that handled it
    params: dict[str, str]
    request_body: object
    response_body: object
    response_headers: dict[str, str]


class Clock:
    """A deterministic clock: starts at ``start`` and moves one second per tick."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def tick(self) -> datetime:
        self.now = self.now + timedelta(seconds=1)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@dataclass
class RepoState:
    owner: str
    name: str
    default_branch: str
    id: int = 1296269
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    teams: dict[tuple[str, str], Team] = field(default_factory=dict)
    apps: dict[int, App] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    reviews: list[Review] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    labels: dict[str, Label] = field(default_factory=dict)
    protections: dict[str, dict[str, object]] = field(default_factory=dict)  # branch -> body
    rulesets: list[dict[str, object]] = field(default_factory=list)
    # every review request, as asked: (pr number, by, users, team slugs)
    review_requests: list[tuple[int, str, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list
    )
    next_issue_number: int = 1
    # merge methods the repository allows (GitHub's defaults for a new repository: all three)
    allow_merge_commit: bool = True
    allow_squash_merge: bool = True
    allow_rebase_merge: bool = True
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def new_id(self) -> int:
        return next(self._ids)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"
