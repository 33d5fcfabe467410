"""A Terraform plan (``terraform show -json PLAN``) as the changes jitctl judges. PURE.

Only resource addresses and actions are read, never attribute values (no secret can leak into a
report). A grant's resources live at ``module.<module>["<grant id>"]....`` (terraform/main.tf).

Drift: on a scheduled apply, the grants on the branch have already been applied; the only
change they explain is the removal of a grant that is no longer rendered (it expired or was
removed). Every other planned change (a grant's resources created, changed or replaced again,
a rendered grant's resources removed, a resource outside the grant modules) means the cloud
differs from what git says: someone changed it by hand, or an earlier apply did not finish.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

ADDRESS = re.compile(r'^module\.(aws_iam_role|gcp_iam|azure_pim)\["([^"]+)"\]\.')


@dataclass(frozen=True)
class PlanChange:
    address: str
    grant: str | None  # None: not a grant's resource
    kind: str  # added | removed | changed | replaced


def _kind(actions: list[str]) -> str | None:
    if not actions or actions in (["no-op"], ["read"]):
        return None
    if actions == ["create"]:
        return "added"
    if actions == ["delete"]:
        return "removed"
    if sorted(actions) == ["create", "delete"]:
        return "replaced"
    return "changed"


def plan_changes(plan: Any) -> list[PlanChange]:
    """The planned resource changes. Raises ValueError when it is not a plan's JSON."""
    if not isinstance(plan, Mapping) or "format_version" not in plan:
        raise ValueError("not the JSON of a Terraform plan (terraform show -json PLAN)")
    out: list[PlanChange] = []
    for rc in plan.get("resource_changes") or []:
        if not isinstance(rc, Mapping):
            raise ValueError("resource_changes holds a non-object")
        address = str(rc.get("address", ""))
        actions = (rc.get("change") or {}).get("actions") or []
        if not isinstance(actions, list):
            raise ValueError(f"{address}: actions is not a list")
        kind = _kind([str(a) for a in actions])
        if kind is None:
            continue
        m = ADDRESS.match(address)
        out.append(PlanChange(address, m.group(2) if m else None, kind))
    return out


def drift(changes: list[PlanChange], rendered: Collection[str]) -> list[PlanChange]:
    """The changes no grant change explains (``rendered``: the grant ids the apply passes)."""
    return [c for c in changes if not (c.kind == "removed" and c.grant and c.grant not in rendered)]
