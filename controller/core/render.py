"""Active grants -> Terraform input. PURE.

The output is a Terraform JSON variables file (schema: docs/render-schema.md):
``{"jitctl_render_version": 1, "now": ..., "grants": {<id>: {...}}}``; a grant's optional
``starts_at`` and ``ticket`` are left out when it has none. Only grants active or
pending at ``now`` are passed on; an expired grant never is. Each grant is its own entry (its
own cloud resources), so two grants for the same principal and entitlement never cut each
other's access and no gap between their windows is filled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.core.model import Catalog, Entitlement, Finding, Grant, GrantState, grant_state
from controller.core.times import format_rfc3339

RENDER_VERSION = 1


@dataclass(frozen=True)
class Rendered:
    document: dict[str, Any]
    findings: tuple[Finding, ...]  # grants that cannot be rendered (unknown entitlement)
    skipped_expired: tuple[str, ...]  # ids of expired grants left out


def render(grants: Iterable[Grant], catalog: Catalog, now: datetime) -> Rendered:
    out: dict[str, Any] = {}
    findings: list[Finding] = []
    expired: list[str] = []
    targets: dict[str, Any] = {}  # one target object per entitlement, shared by its grants
    times: dict[datetime, str] = {}

    def rfc3339(value: datetime) -> str:
        text = times.get(value)
        if text is None:
            text = times[value] = format_rfc3339(value)
        return text

    for g in sorted(grants, key=lambda g: g.id):
        if grant_state(g, now) is GrantState.EXPIRED:
            expired.append(g.id)
            continue
        ent = catalog.entitlements.get(g.entitlement)
        if ent is None:
            findings.append(
                Finding(
                    "entitlement.unknown",
                    g.path,
                    g.line_of("entitlement"),
                    f"entitlement {g.entitlement!r} is not in the catalog; cannot render",
                )
            )
            continue
        target = targets.get(g.entitlement)
        if target is None:
            target = targets[g.entitlement] = _plain(ent.target)
        entry = {
            "principal": g.principal,
            "entitlement": g.entitlement,
            "module": ent.module,
            "target": target,
            "expires_at": rfc3339(g.expires_at),
            "reason": g.reason,
        }
        # optional in the schema: left out when empty (Terraform reads them as null)
        if g.starts_at is not None:
            entry["starts_at"] = rfc3339(g.starts_at)
        if g.ticket is not None:
            entry["ticket"] = g.ticket
        out[g.id] = entry
    document = {
        "jitctl_render_version": RENDER_VERSION,
        "now": format_rfc3339(now),
        "grants": out,
    }
    return Rendered(document, tuple(findings), tuple(expired))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def describe_cloud_condition(entry: dict[str, Any]) -> str:
    """One line saying how the target cloud itself ends this grant (what the module builds)."""
    start, end = entry.get("starts_at"), entry["expires_at"]
    module = entry["module"]
    if module == "aws-iam-role":
        lower = f" or before {start}" if start else ""
        return f'AWS: explicit Deny "*" when aws:CurrentTime is after {end}{lower}'
    if module == "aws-identity-center":
        lower = f" or before {start}" if start else ""
        return (
            f'AWS Identity Center: permission set with an explicit Deny "*" when aws:CurrentTime '
            f"is after {end}{lower}"
        )
    if module == "gcp-iam":
        cond = f'request.time < timestamp("{end}")'
        if start:
            cond = f'request.time >= timestamp("{start}") && {cond}'
        return f"GCP: IAM Condition {cond}"
    if module == "azure-pim":
        return f"Azure: PIM active assignment from {start or 'apply time'} until {end}"
    return f"{module}: ends at {end}"


# --- stacks: one Terraform state per target ------------------------------------------------
# An AWS account, a GCP project or an Azure subscription (or management group) is one stack with
# its own state, so a change plans and applies only the stacks it touches, and a plan's cost
# grows with the stack, not with every grant of the organisation.


def stack_of(ent: Entitlement) -> str:
    """The stack an entitlement's grants live in: aws-<account>, gcp-<project>,
    azure-<subscription id> or azure-mg-<management group> (lower case, [a-z0-9._-] only: it
    names a file and a state key)."""
    name = _stack_name(ent)
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "stack"


def _stack_name(ent: Entitlement) -> str:
    t = ent.target
    if ent.module in ("aws-iam-role", "aws-identity-center"):
        return f"aws-{t['account_id']}"
    if ent.module == "gcp-iam":
        return f"gcp-{t['project']}"
    if ent.module == "azure-pim":
        scope = str(t["scope"]).strip("/").split("/")
        if len(scope) >= 2 and scope[0].lower() == "subscriptions":
            return f"azure-{scope[1].lower()}"
        name = re.sub(r"[^a-z0-9._-]+", "-", scope[-1].lower()).strip("-") or "root"
        return f"azure-mg-{name}"
    return f"other-{ent.module}"


def render_stacks(
    grants: Iterable[Grant], catalog: Catalog, now: datetime
) -> tuple[dict[str, dict[str, Any]], Rendered]:
    """One render document per stack, for EVERY stack the catalog names (an empty one too, so
    that the apply of a stack whose last grant went away destroys its resources)."""
    whole = render(grants, catalog, now)
    docs: dict[str, dict[str, Any]] = {
        stack_of(e): {**whole.document, "grants": {}} for e in catalog.entitlements.values()
    }
    for gid, entry in whole.document["grants"].items():
        stack = stack_of(catalog.entitlements[entry["entitlement"]])
        docs[stack]["grants"][gid] = entry
    return dict(sorted(docs.items())), whole


def stack_fingerprints(grants: Iterable[Grant], catalog: Catalog) -> dict[str, str]:
    """What decides each stack's Terraform input, whatever the time: its grant files (expired
    ones too: removing one must apply the stack) and its entitlements' definitions."""
    members: dict[str, dict[str, Any]] = {
        stack_of(e): {"entitlements": {}, "grants": {}} for e in catalog.entitlements.values()
    }
    for name, e in catalog.entitlements.items():
        members[stack_of(e)]["entitlements"][name] = {
            "module": e.module,
            "target": _plain(e.target),
        }
    for g in grants:
        ent = catalog.entitlements.get(g.entitlement)
        if ent is None:
            continue
        members[stack_of(ent)]["grants"][g.id] = [
            g.principal,
            g.entitlement,
            format_rfc3339(g.starts_at) if g.starts_at else None,
            format_rfc3339(g.expires_at),
            g.reason,
            g.ticket,
        ]
    import hashlib  # here: loading OpenSSL is ~5 ms of every start-up that imports render

    return {
        stack: hashlib.sha256(json.dumps(m, sort_keys=True).encode()).hexdigest()
        for stack, m in sorted(members.items())
    }


def changed_stacks(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Stacks whose fingerprint differs, or that exist on one side only."""
    return sorted(s for s in set(before) | set(after) if before.get(s) != after.get(s))
