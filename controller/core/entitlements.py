"""What a login may request: the entitlements, for which principals, for how long, approved by
whom. PURE: the same rules the check applies (``identities``, ``requesters``), read ahead.

A ``requesters`` team that cannot be resolved here (neither in the catalog's ``teams:`` nor in
``members``) counts as no one, as in the check: such an entitlement is listed as not
requestable, saying so, rather than promised (deny when unsure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.core.model import Catalog, Entitlement
from controller.core.policy import identities_of, is_member, team_members


@dataclass(frozen=True)
class Offer:
    """An entitlement ``login`` may request, for these principals."""

    entitlement: Entitlement
    principals: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    """An entitlement ``login`` may not request, and why."""

    entitlement: Entitlement
    why: str


def requestable(
    catalog: Catalog, login: str, members: Mapping[str, frozenset[str]] | None = None
) -> tuple[tuple[Offer, ...], tuple[Refusal, ...]]:
    """Every entitlement of the catalog, sorted by name: offered to ``login`` or refused."""
    principals = identities_of(catalog, login)
    teams = team_members(catalog, members)
    offers: list[Offer] = []
    refusals: list[Refusal] = []
    for name in sorted(catalog.entitlements):
        ent = catalog.entitlements[name]
        if not principals:
            refusals.append(Refusal(ent, f"{login} has no identity in the catalog"))
        elif ent.requesters is not None and not is_member(login, ent.requesters, teams):
            unresolved = [r for r in ent.requesters if r.startswith("@") and r not in teams]
            why = f"requesters: {', '.join(ent.requesters)}"
            if unresolved:
                why += f" ({', '.join(unresolved)} not resolved here: counted as no one)"
            refusals.append(Refusal(ent, why))
        else:
            offers.append(Offer(ent, principals))
    return tuple(offers), tuple(refusals)
