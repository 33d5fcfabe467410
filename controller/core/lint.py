"""Catalog lint for the platform team: what a valid catalog can still get wrong.

The loader (``formats.catalog``) refuses what is malformed; this finds what is well-formed but
cannot work as meant: a team defined nowhere, a login with no identity, a rule that needs more
people than it can draw from, an entitlement nobody may request or nobody can approve. Pure:
a catalog in, findings out. Teams not defined in the catalog are resolved on GitHub at approval
time, so anything that depends on them is said as a warning, never assumed.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.core.model import Catalog, Entitlement, Finding, Review, ReviewState, Severity
from controller.core.policy import evaluate_approvals, team_members

CATALOG = "catalog.yaml"

RULES: dict[str, str] = {
    "catalog.team-undefined": "a team the catalog names is not defined under teams: (warning)",
    "catalog.login-unknown": "a login the catalog names has no identity (warning)",
    "catalog.rule-unsatisfiable": "an approval rule needs more people than it names",
    "catalog.entitlement-unrequestable": "nobody may request the entitlement",
    "catalog.entitlement-unapprovable": "no request for the entitlement can ever be approved",
    "catalog.requester-unapprovable": "some requesters can never be approved (warning)",
}


def lint_catalog(catalog: Catalog, source: str = CATALOG) -> list[Finding]:
    """Every finding, errors first. Logins compare case-insensitively, as on GitHub."""
    members = team_members(catalog)
    identities = {login.lower() for login in catalog.identities}
    out: list[Finding] = []

    def add(rule: str, message: str, severity: Severity = Severity.ERROR) -> None:
        out.append(Finding(rule, source, None, message, severity))

    undefined = sorted(
        {name for ent in catalog.entitlements.values() for name in _named(ent)} - set(catalog.teams)
    )
    for team in undefined:
        users = sorted(e.name for e in catalog.entitlements.values() if team in _named(e))
        add(
            "catalog.team-undefined",
            f"team {team} (used by {', '.join(users)}) is not defined under teams:, so it is "
            "resolved on GitHub at approval time; if it does not exist there, it counts as no one",
            Severity.WARNING,
        )
    for login in sorted(_logins(catalog)):
        if login.lower() not in identities:
            add(
                "catalog.login-unknown",
                f"{login} is named as an approver, requester or team member but has no entry "
                "under identities: (a typo here silently removes an approver)",
                Severity.WARNING,
            )
    for _, ent in sorted(catalog.entitlements.items()):
        out.extend(_lint_entitlement(catalog, ent, members, identities, source))
    out.sort(key=lambda f: (f.severity is not Severity.ERROR, f.rule, f.message))
    return out


def _lint_entitlement(
    catalog: Catalog,
    ent: Entitlement,
    members: dict[str, frozenset[str]],
    identities: set[str],
    source: str,
) -> list[Finding]:
    out: list[Finding] = []
    local = all(not n.startswith("@") or n in catalog.teams for n in _named(ent))
    for i, rule in enumerate(ent.approvals):
        if not all(not n.startswith("@") or n in catalog.teams for n in rule.from_):
            continue  # a GitHub team: its size is unknown here
        pool = _resolve(rule.from_, members)
        if rule.count > len(pool):
            out.append(
                Finding(
                    "catalog.rule-unsatisfiable",
                    source,
                    None,
                    f"{ent.name}: approval rule {i + 1} needs {rule.count} approval(s) from "
                    f"{', '.join(rule.from_)}, which name only {len(pool)} person(s)"
                    + (f" ({', '.join(sorted(pool))})" if pool else ""),
                )
            )
    if not local:
        return out
    if ent.requesters is None:
        requesters = set(identities)
    else:
        requesters = {r for r in _resolve(ent.requesters, members) if r.lower() in identities}
    if not requesters:
        out.append(
            Finding(
                "catalog.entitlement-unrequestable",
                source,
                None,
                f"{ent.name}: nobody may request it (requesters: "
                f"{', '.join(ent.requesters or ())}; none of them has an identity)",
            )
        )
        return out
    everyone = _resolve([n for rule in ent.approvals for n in rule.from_], members)
    approvals = [Review(login, ReviewState.APPROVED, "head") for login in sorted(everyone)]
    stuck = sorted(
        r
        for r in requesters
        if not evaluate_approvals(
            ent.approvals, approvals, head="head", author=r, members=members
        ).satisfied
    )
    if stuck and len(stuck) == len(requesters):
        out.append(
            Finding(
                "catalog.entitlement-unapprovable",
                source,
                None,
                f"{ent.name}: no request can ever be approved: even if every approver approves, "
                "the rules cannot be met without the requester's own approval or with the people "
                "they name",
            )
        )
    elif stuck:
        out.append(
            Finding(
                "catalog.requester-unapprovable",
                source,
                None,
                f"{ent.name}: a request by {', '.join(stuck)} can never be approved: without "
                "the requester's own approval (which never counts) too few approvers remain",
                Severity.WARNING,
            )
        )
    return out


def _named(ent: Entitlement) -> set[str]:
    """The teams an entitlement names (approvers and requesters)."""
    names = {n for rule in ent.approvals for n in rule.from_} | set(ent.requesters or ())
    return {n for n in names if n.startswith("@")}


def _logins(catalog: Catalog) -> set[str]:
    """Every login the catalog names outside identities (approvers, requesters, team members)."""
    out = {m for logins in catalog.teams.values() for m in logins}
    for ent in catalog.entitlements.values():
        names = [n for rule in ent.approvals for n in rule.from_] + list(ent.requesters or ())
        out.update(n for n in names if not n.startswith("@"))
    return out


def _resolve(names: Iterable[str], members: dict[str, frozenset[str]]) -> set[str]:
    out: set[str] = set()
    for n in names:
        out.update(members.get(n, frozenset()) if n.startswith("@") else {n})
    return {login.lower() for login in out}
