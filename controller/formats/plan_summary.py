"""A Terraform plan summarised by grant, and that summary rendered for humans, with no raw values.

PURE. Two steps, run by different workflows through ``jitctl plan-summary``:

* ``summarize``: in the plan jobs (jit-check, jit-apply), from ``terraform show -json PLAN``, a
  small JSON summary: for each grant id, the actions on its resources (added, removed, changed,
  replaced). Only resource addresses are read, never attribute values, so no secret can leak.
* ``markdown``: the summary as Markdown (the job summary, and the PR comment jit-merge posts).
  The summary may come from a run whose workflow a pull request could edit, so it is untrusted
  data: validated strictly (grant ids match the grant id pattern, modules are known, entries are
  few) and rendered here, never pasted.
"""

from __future__ import annotations

import re
from typing import Any

GRANT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MODULES = ("aws_iam_role", "aws_identity_center", "gcp_iam", "azure_pim")
KINDS = ("added", "removed", "changed", "replaced")
# module.aws_iam_role["<grant id>"].<rest>
ADDRESS = re.compile(
    r'^module\.(aws_iam_role|aws_identity_center|gcp_iam|azure_pim)\["([^"]+)"\]\.'
)
MAX_GRANTS = 10_000


def _kind(actions: list[str]) -> str | None:
    if actions in (["no-op"], ["read"]):
        return None
    if actions == ["create"]:
        return "added"
    if actions == ["delete"]:
        return "removed"
    if actions == ["update"]:
        return "changed"
    if sorted(actions) == ["create", "delete"]:
        return "replaced"
    return "changed"


def summarize(plan: dict[str, Any]) -> dict[str, Any]:
    """Per grant: module and the set of change kinds of its resources."""
    grants: dict[str, dict[str, Any]] = {}
    for change in plan.get("resource_changes", []):
        m = ADDRESS.match(str(change.get("address", "")))
        if not m:
            continue
        kind = _kind(list(change.get("change", {}).get("actions", [])))
        if kind is None:
            continue
        module, grant_id = m.group(1), m.group(2)
        entry = grants.setdefault(grant_id, {"module": module, "kinds": set()})
        entry["kinds"].add(kind)
    out: dict[str, list[dict[str, str]]] = {k: [] for k in KINDS}
    for grant_id in sorted(grants):
        kinds = grants[grant_id]["kinds"]
        # A grant whose resources are all created is "added"; all deleted, "removed"; else changed.
        if kinds == {"added"}:
            kind = "added"
        elif kinds == {"removed"}:
            kind = "removed"
        elif "replaced" in kinds:
            kind = "replaced"
        else:
            kind = "changed"
        out[kind].append({"grant": grant_id, "module": grants[grant_id]["module"]})
    return {"version": 1, **out}


def validate(summary: Any) -> dict[str, list[dict[str, str]]]:
    """Return the summary if it is exactly what `summarize` writes; raise ValueError otherwise."""
    if not isinstance(summary, dict) or summary.get("version") != 1:
        raise ValueError("not a version 1 plan summary")
    if set(summary) != {"version", *KINDS}:
        raise ValueError("unexpected keys in plan summary")
    total = 0
    for kind in KINDS:
        items = summary[kind]
        if not isinstance(items, list):
            raise ValueError(f"{kind} is not a list")
        total += len(items)
        for item in items:
            if not isinstance(item, dict) or set(item) != {"grant", "module"}:
                raise ValueError(f"bad entry in {kind}")
            if not isinstance(item["grant"], str) or not GRANT_ID.match(item["grant"]):
                raise ValueError(f"bad grant id in {kind}")
            if item["module"] not in MODULES:
                raise ValueError(f"bad module in {kind}")
    if total > MAX_GRANTS:
        raise ValueError("too many entries")
    return {k: summary[k] for k in KINDS}


def markdown(summary: dict[str, list[dict[str, str]]]) -> str:
    counts = ", ".join(f"{len(summary[k])} {k}" for k in KINDS)
    lines = ["### jitctl: terraform plan", "", f"Grants: {counts}.", ""]
    if not any(summary[k] for k in KINDS):
        lines.append("No change to any grant.")
    for kind in KINDS:
        if summary[kind]:
            lines += [f"**{kind}**", ""]
            lines += [f"- `{i['grant']}` ({i['module'].replace('_', '-')})" for i in summary[kind]]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
