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
    "doctor.codeowners-uncovered": "a path outside grants/ has no code owner",
    "doctor.expire-branch-writable": "jit/expire can be pushed to by others than the jitctl App",
    "doctor.rebase-merge-allowed": "rebase merges are allowed (they can merge an unjudged tree)",
    "doctor.force-push-allowed": "force pushes to the default branch are allowed",
    "doctor.deletion-allowed": "the default branch may be deleted",
    "doctor.admin-bypass": "branch protection does not apply to administrators",
    "doctor.bypass-actors": "a ruleset lets some actors bypass it",
}

# Every path outside grants/ needs code-owner review (the apply and expiry jobs run with the
# repository as their working tree); a sample file of each kind is tested for an owner,
# including new root files an attacker would add.
SENSITIVE = {
    "catalog.yaml": "catalog.yaml",
    "modules/": "modules/any/main.tf",
    ".github/": ".github/workflows/any.yml",
    "controller/": "controller/any.py",
    "action.yml": "action.yml",
    "a new root file (shlex.py)": "shlex.py",
    "setup.py": "setup.py",
    "a new root directory (venv/)": "venv/__init__.py",
    "any other path": "any/new/file.txt",
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
        if rs.get("enforcement", "active") != "active" or _expire_only(rs):
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
        uncovered = [name for name, sample in SENSITIVE.items() if not owners_of(entries, sample)]
        if uncovered:
            out.append(
                Finding(
                    "doctor.codeowners-uncovered",
                    s.codeowners_path or "CODEOWNERS",
                    None,
                    f"no code owner for {', '.join(uncovered)}: start CODEOWNERS with a "
                    "catch-all `* @org/platform` and leave only `/grants/` without owner",
                )
            )
    out.extend(_expire_branch(s, mine))
    if s.allow_rebase_merge:
        add(
            "doctor.rebase-merge-allowed",
            "rebase merging is allowed: it replays a PR's commits one by one (merge commits "
            "dropped), which can land a tree other than the merge jitctl judged; allow only "
            "merge commits and squash (Settings -> General -> Pull Requests)",
        )
    return out


def _expire_branch(s: Settings, app_ids: Sequence[Any]) -> list[Finding]:
    """jit/expire must be writable by the jitctl App alone: branch protection that restricts
    pushes to apps only, or a ruleset restricting updates whose only bypass is an integration
    (the App whose status is required, when that is pinned)."""
    pinned = {a for a in app_ids if a not in (None, -1)}
    restrictions = _get(s.expire_protection, "restrictions")
    if isinstance(restrictions, Mapping):
        users = restrictions.get("users") or []
        teams = restrictions.get("teams") or []
        if not users and not teams and restrictions.get("apps"):
            return []
    updates = [r for r in s.expire_rules if r.get("type") in ("update", "creation")]
    if updates:
        ids = {r.get("ruleset_id") for r in updates}
        ok = True
        for rs in s.rulesets:
            if rs.get("id") not in ids:
                continue
            for actor in rs.get("bypass_actors") or []:
                if actor.get("actor_type") != "Integration" or (
                    pinned and actor.get("actor_id") not in pinned
                ):
                    ok = False
        if ok:
            return []
    return [
        Finding(
            "doctor.expire-branch-writable",
            "branch jit/expire",
            None,
            "anyone with write access can push to jit/expire; restrict updates to the jitctl "
            "App (docs/ruleset-expire.json), so no foreign commit waits there for an expiry run",
        )
    ]


def _expire_only(rs: Mapping[str, Any]) -> bool:
    """A ruleset for the expiry branch alone, bypassed by integrations only (the App must
    update the branch it restricts)."""
    include = _get(rs, "conditions", "ref_name", "include") or []
    actors = rs.get("bypass_actors") or []
    return include == ["refs/heads/jit/expire"] and all(
        a.get("actor_type") == "Integration" for a in actors
    )


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
