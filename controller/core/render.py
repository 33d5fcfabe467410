"""Active grants -> Terraform input. PURE.

The output is a Terraform JSON variables file (schema: docs/render-schema.md):
``{"jitctl_render_version": 1, "now": ..., "grants": {<id>: {...}}}``; a grant's optional
``starts_at`` and ``ticket`` are left out when it has none. Only grants active or
pending at ``now`` are passed on; an expired grant never is. Each grant is its own entry (its
own cloud resources), so two grants for the same principal and entitlement never cut each
other's access and no gap between their windows is filled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.core.model import Catalog, Finding, Grant, GrantState, grant_state
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
    if module == "gcp-iam":
        cond = f'request.time < timestamp("{end}")'
        if start:
            cond = f'request.time >= timestamp("{start}") && {cond}'
        return f"GCP: IAM Condition {cond}"
    if module == "azure-pim":
        return f"Azure: PIM active assignment from {start or 'apply time'} until {end}"
    return f"{module}: ends at {end}"
