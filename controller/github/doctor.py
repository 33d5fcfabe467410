"""``jitctl doctor``: what is unsafe or missing in the repository's settings. PURE.

Takes the ``Settings`` the forge read (branch protection, the rules that apply to the default
branch, the rulesets, CODEOWNERS) and returns findings with stable rule ids.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from controller.core.model import Finding, Severity
from controller.github.forge import STATUS_CONTEXT, Settings

RULES: Mapping[str, str] = {
    "doctor.status-not-required": "the jitctl status is not required on the default branch",
    "doctor.status-not-from-app": "(warning) the required jitctl status may come from any app",
    "doctor.code-owner-review-not-required": "code-owner review is not required",
    "doctor.codeowners-missing": "no CODEOWNERS file on the default branch",
    "doctor.codeowners-uncovered": "a sensitive path has no code owner",
    "doctor.force-push-allowed": "force pushes to the default branch are allowed",
    "doctor.deletion-allowed": "the default branch may be deleted",
    "doctor.admin-bypass": "branch protection does not apply to administrators",
    "doctor.bypass-actors": "a ruleset lets some actors bypass it",
}

# Paths whose changes need code-owner review; a sample file in each is tested for an owner.
SENSITIVE = {
    "catalog.yaml": "catalog.yaml",
    "modules/": "modules/any/main.tf",
    ".github/": ".github/workflows/any.yml",
    "controller/": "controller/any.py",
}


def _get(d: Mapping[str, Any] | None, *keys: str) -> Any:
    cur: Any = d
    for k in keys:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(k)
    return cur


def _rules_of(rules: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [r for r in rules if r.get("type") == kind]


def diagnose(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    where = f"branch {s.default_branch}"

    def add(rule: str, message: str, severity: Severity = Severity.ERROR) -> None:
        out.append(Finding(rule, where, None, message, severity))

    p = s.protection
    # the jitctl status
    checks: list[tuple[str, Any]] = []
    for c in _get(p, "required_status_checks", "checks") or []:
        checks.append((str(c.get("context")), c.get("app_id")))
    for ctx in _get(p, "required_status_checks", "contexts") or []:
        if all(name != ctx for name, _ in checks):
            checks.append((str(ctx), None))
    for r in _rules_of(s.rules, "required_status_checks"):
        for c in _get(r, "parameters", "required_status_checks") or []:
            checks.append((str(c.get("context")), c.get("integration_id")))
    mine = [app for name, app in checks if name == STATUS_CONTEXT]
    if not mine:
        add(
            "doctor.status-not-required",
            f"the `{STATUS_CONTEXT}` status is not a required check; require it in a ruleset "
            "(or branch protection) so that no grant merges without jitctl's verdict",
        )
    elif all(app in (None, -1) for app in mine):
        add(
            "doctor.status-not-from-app",
            f"the required `{STATUS_CONTEXT}` status is not pinned to the jitctl GitHub App; "
            "anyone with write access could post it",
            Severity.WARNING,
        )
    # code-owner review
    owner_review = bool(_get(p, "required_pull_request_reviews", "require_code_owner_reviews"))
    owner_review = owner_review or any(
        _get(r, "parameters", "require_code_owner_review")
        for r in _rules_of(s.rules, "pull_request")
    )
    if not owner_review:
        add(
            "doctor.code-owner-review-not-required",
            "code-owner review is not required; turn on 'Require review from Code Owners' so "
            "that catalog, modules, workflows and controller changes need the platform team",
        )
    # force pushes and deletion
    ff_protected = (p is not None and not _get(p, "allow_force_pushes", "enabled")) or bool(
        _rules_of(s.rules, "non_fast_forward")
    )
    if not ff_protected:
        add(
            "doctor.force-push-allowed",
            "force pushes are allowed; they can rewrite the audit trail",
        )
    del_protected = (p is not None and not _get(p, "allow_deletions", "enabled")) or bool(
        _rules_of(s.rules, "deletion")
    )
    if not del_protected:
        add("doctor.deletion-allowed", "the default branch can be deleted")
    if p is not None and not _get(p, "enforce_admins", "enabled"):
        add(
            "doctor.admin-bypass",
            "branch protection does not include administrators ('Do not allow bypassing')",
        )
    for rs in s.rulesets:
        if rs.get("enforcement", "active") != "active":
            continue
        actors = rs.get("bypass_actors") or []
        if actors:
            kinds = ", ".join(sorted({str(a.get("actor_type")) for a in actors}))
            add(
                "doctor.bypass-actors",
                f"ruleset {rs.get('name')!r} has bypass actors ({kinds}); no one, not even the "
                "App, should bypass the jitctl rules",
            )
    # CODEOWNERS
    if s.codeowners is None:
        add(
            "doctor.codeowners-missing",
            "no CODEOWNERS (.github/CODEOWNERS); add owners for " + ", ".join(SENSITIVE),
        )
    else:
        entries = parse_codeowners(s.codeowners)
        for name, sample in SENSITIVE.items():
            if not owners_of(entries, sample):
                out.append(
                    Finding(
                        "doctor.codeowners-uncovered",
                        s.codeowners_path or "CODEOWNERS",
                        None,
                        f"{name} has no code owner; add a line such as `/{name} @org/platform`",
                    )
                )
    return out


def parse_codeowners(text: str) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *owners = line.split()
        out.append((pattern, tuple(owners)))
    return out


def owners_of(entries: Iterable[tuple[str, tuple[str, ...]]], path: str) -> tuple[str, ...]:
    """The owners of ``path``: the last matching pattern wins (gitignore-like matching)."""
    found: tuple[str, ...] = ()
    for pattern, owners in entries:
        if _matches(pattern, path):
            found = owners
    return found


def _matches(pattern: str, path: str) -> bool:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    pat = pattern.lstrip("/")
    if pat in ("*", "**"):
        return True
    if pat.endswith("/**"):
        pat = pat[:-3] + "/"
    candidates = (
        [path] if anchored else [path.split("/", i)[-1] for i in range(path.count("/") + 1)]
    )
    for cand in candidates:
        if pat.endswith("/"):
            if cand.startswith(pat) or fnmatch.fnmatch(cand.split("/", 1)[0] + "/", pat):
                return True
        elif fnmatch.fnmatch(cand, pat) or cand.startswith(pat + "/"):
            return True
    return False
