"""Ask the approvers for a review: the users and teams the catalog names for a request, once.

Who: every login and team of the approval rules that apply, never the author. A team the
catalog defines itself (``teams:``) is asked through its members (the catalog is what counts
for approval); another team is asked as a GitHub team when it belongs to the repository's
organisation (GitHub can ask no other).

Once: jitctl records whom it has asked in a hidden line of its one comment, and before asking
it also skips anyone GitHub lists as already asked (``request --open-pr`` asks as the
requester) or who has already reviewed. A re-evaluation with nobody new to ask makes no request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from controller.core.model import ApprovalRule, Catalog, Review
from controller.github.forge import Forge, ForgeError

_ASKED = re.compile(r"^<!-- jitctl:asked users=([^ ]*) teams=([^ ]*) -->$", re.M)


@dataclass(frozen=True)
class Asked:
    users: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()  # team slugs in the repository's organisation

    def __or__(self, other: Asked) -> Asked:
        return Asked(self.users | other.users, self.teams | other.teams)

    def marker(self) -> str:
        return (
            f"<!-- jitctl:asked users={','.join(sorted(self.users))} "
            f"teams={','.join(sorted(self.teams))} -->"
        )

    def describe(self) -> str:
        return ", ".join([*sorted(self.users), *(f"team {t}" for t in sorted(self.teams))])


def asked_in(body: str | None) -> Asked:
    """What jitctl's own comment says it has asked (nothing if no marker)."""
    m = _ASKED.search(body or "")
    if m is None:
        return Asked()
    return Asked(_names(m.group(1)), _names(m.group(2)))


def _names(text: str) -> frozenset[str]:
    return frozenset(x for x in text.split(",") if x)


def reviewers_for(
    rules: Sequence[ApprovalRule], catalog: Catalog, author: str | None, owner: str
) -> Asked:
    """The users and team slugs to ask for ``rules``. PURE."""
    me = (author or "").lower()
    users: set[str] = set()
    teams: set[str] = set()
    for rule in rules:
        for name in rule.from_:
            if not name.startswith("@"):
                users.add(name)
            elif name in catalog.teams:
                users.update(catalog.teams[name])
            else:
                org, sep, slug = name[1:].partition("/")
                if sep and slug and org.lower() == owner.lower():
                    teams.add(slug)
    return Asked(frozenset(u for u in users if u.lower() != me), frozenset(teams))


def ask(
    forge: Forge, number: int, wanted: Asked, already: Asked, reviews: Iterable[Review]
) -> Asked:
    """Request review from whoever in ``wanted`` was not asked before (``already``), is not
    asked on GitHub now and has not reviewed. Returns everyone asked so far (to record)."""
    new = Asked(wanted.users - already.users, wanted.teams - already.teams)
    if new.users or new.teams:
        users_now, teams_now = forge.requested_reviewers(number)
        skip = {u.lower() for u in users_now} | {r.login.lower() for r in reviews}
        users = sorted(u for u in new.users if u.lower() not in skip)
        teams = sorted(t for t in new.teams if t not in teams_now)
        if users or teams:
            try:
                forge.request_reviewers(number, users, teams)
            except ForgeError as exc:
                if exc.status != 422:
                    raise
                # one name GitHub refuses (no access, no such team) must not stop the others
                for u in users:
                    _ask_one(forge, number, [u], [])
                for t in teams:
                    _ask_one(forge, number, [], [t])
    return already | wanted


def _ask_one(forge: Forge, number: int, users: list[str], teams: list[str]) -> None:
    try:
        forge.request_reviewers(number, users, teams)
    except ForgeError as exc:
        if exc.status != 422:
            raise
