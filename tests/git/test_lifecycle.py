"""request, merge, expire, revoke and extend on real git repositories, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.core.errors import JitError
from controller.formats.trailers import parse_trailers
from controller.git.repo import GitRepo
from tests.factories import grant_text
from tests.gitutil import Repo

NOW = "2026-11-24T12:00:00Z"
RO_BRANCH = "jit/request/alice-aws-prod-readonly-20261124t1200"
RO_ID = "alice-aws-prod-readonly-20261124t1200"


def run(repo: Repo, *args: str, now: str = NOW) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--repo", str(repo.path), "--now", now, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def refs(repo: Repo) -> str:
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)")


def state(repo: Repo) -> tuple[str, str, str]:
    """Everything a failed command must leave alone: refs, index + work tree status, HEAD."""
    return refs(repo), repo.git("status", "--porcelain", "--untracked-files=all"), repo.rev("HEAD")


def trailers(repo: Repo, ref: str = "main") -> list[tuple[str, str]]:
    return list(parse_trailers(repo.git("log", "-1", "--format=%B", ref)))


def request_ro(repo: Repo, *extra: str) -> tuple[int, str, str]:
    return run(
        repo,
        "request",
        "aws-prod-readonly",
        "--for",
        "4h",
        "--reason",
        "INC-1: 5xx",
        "--as",
        "alice",
        "--local",
        *extra,
    )


# --- request -------------------------------------------------------------------------------


def test_request_commits_on_a_new_branch(access_repo: Repo) -> None:
    before = access_repo.rev("main")
    code, out, err = request_ro(access_repo, "--ticket", "INC-1")
    assert code == 0, err
    assert f"on branch {RO_BRANCH}" in out
    assert access_repo.rev("main") == before  # main untouched
    assert access_repo.rev(f"{RO_BRANCH}~1") == before
    text = access_repo.show(RO_BRANCH, f"grants/{RO_ID}.hcl")
    assert 'principal   = "alice@example.com"' in text
    # the clock starts at approval: the request asks for a duration, no expires_at yet
    assert 'duration    = "4h"' in text and "expires_at" not in text
    assert 'ticket      = "INC-1"' in text
    assert trailers(access_repo, RO_BRANCH) == [
        ("Jit-Kind", "request"),
        ("Jit-Grant", RO_ID),
        ("Requested-by", "alice"),
    ]
    assert access_repo.git("status", "--porcelain") == ""


def test_request_ids_are_unique(access_repo: Repo) -> None:
    assert request_ro(access_repo)[0] == 0
    code, out, _ = request_ro(access_repo)
    assert code == 0
    assert f"jit/request/{RO_ID}-2" in out


def test_refused_request_writes_nothing(access_repo: Repo) -> None:
    before = state(access_repo)
    code, _out, err = run(
        access_repo,
        "request",
        "aws-prod-readonly",
        "--for",
        "13h",
        "--fixed-end",
        "--reason",
        "x",
        "--as",
        "alice",
        "--local",
    )
    assert code == 1
    assert "duration.exceeded" in err and "refused: nothing written" in err
    assert state(access_repo) == before
    code, _, err = run(
        access_repo,
        "request",
        "aws-prod-readonly",
        "--for",
        "13h",
        "--reason",
        "x",
        "--as",
        "alice",
        "--fixed-end",
    )  # work-tree mode
    assert code == 1
    assert state(access_repo) == before


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (
            ["aws-prod-readonly", "--for", "1h", "--reason", "x", "--principal", "bob@example.com"],
            "requester.principal",
        ),
        (["aws-prod-admin", "--for", "30m", "--reason", "x"], "requester.not-allowed"),
        (["nope", "--for", "1h", "--reason", "x"], "entitlement.unknown"),
        (["aws-prod-readonly", "--for", "1h", "--reason", " "], "reason.empty"),
    ],
)
def test_request_refusals_match_check(access_repo: Repo, args: list[str], rule: str) -> None:
    before = state(access_repo)
    code, out, _ = run(
        access_repo, "request", *args, "--as", "alice", "--local", "--format", "json"
    )
    assert code == 1
    data = json.loads(out)
    assert rule in [f["rule"] for f in data["findings"]]
    assert data["written"] is False
    assert state(access_repo) == before


def test_request_into_work_tree_and_identity_from_git_email(access_repo: Repo) -> None:
    access_repo.git("config", "user.email", "bob@example.com")
    code, _out, err = run(
        access_repo, "request", "gcp-prod-logs-viewer", "--for", "2h", "--reason", "logs"
    )
    assert code == 0, err
    path = access_repo.path / "grants/bob-gcp-prod-logs-viewer-20261124t1200.hcl"
    assert 'principal   = "bob@example.com"' in path.read_text()


def test_request_without_identity_is_a_usage_error(access_repo: Repo) -> None:
    access_repo.git("config", "user.email", "stranger@example.com")
    code, _, err = run(
        access_repo, "request", "gcp-prod-logs-viewer", "--for", "2h", "--reason", "logs"
    )
    assert code == 2
    assert "cannot tell who you are" in err


def test_pending_request_with_starts_at(access_repo: Repo) -> None:
    code, _, err = run(
        access_repo,
        "request",
        "aws-prod-readonly",
        "--for",
        "2h",
        "--reason",
        "change window",
        "--starts-at",
        "2026-11-25T09:00:00Z",
        "--as",
        "alice",
        "--local",
    )
    assert code == 0, err
    branch = "jit/request/alice-aws-prod-readonly-20261125t0900"
    assert run(access_repo, "merge", branch, "--local", "--approved-by", "carol")[0] == 0
    code, out, _ = run(access_repo, "list", "--format", "json")
    [g] = json.loads(out)["grants"]
    assert (g["state"], g["starts_at"], g["expires_at"]) == (
        "pending",
        "2026-11-25T09:00:00Z",
        "2026-11-25T11:00:00Z",
    )
    # pending is neither active nor expired: expire keeps it, render passes it on
    assert run(access_repo, "list", "--state", "active")[1].strip() == "no active grants"
    code, out, _ = run(access_repo, "expire", "--local", "--format", "json")
    assert json.loads(out)["removed"] == []
    code, out, _ = run(access_repo, "render")
    assert json.loads(out)["grants"][g["id"]]["starts_at"] == "2026-11-25T09:00:00Z"


# --- merge ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approvers", "why"),
    [
        ("", "1 more from @acme/sre, carol"),
        ("alice", "the author's own approval never counts"),
        ("bob", "not an approver for this entitlement"),
        ("bob,erin", "not an approver for this entitlement"),
    ],
)
def test_merge_refused_changes_nothing(access_repo: Repo, approvers: str, why: str) -> None:
    request_ro(access_repo)
    before = state(access_repo)
    code, _out, err = run(access_repo, "merge", RO_BRANCH, "--local", "--approved-by", approvers)
    assert code == 1
    assert why in err
    assert "nothing changed" in err
    assert state(access_repo) == before


def test_merge_with_approval_writes_trailers(access_repo: Repo) -> None:
    request_ro(access_repo)
    base, head = access_repo.rev("main"), access_repo.rev(RO_BRANCH)
    code, _out, err = run(access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "alice,dave")
    assert code == 0, err
    assert access_repo.git("log", "-1", "--format=%P", "main").split() == [base, head]
    assert trailers(access_repo) == [
        ("Jit-Kind", "request"),
        ("Jit-Grant", RO_ID),
        ("Requested-by", "alice"),
        ("Approved-by", "dave"),
    ]
    assert access_repo.files("main") == ["grants/.gitkeep", f"grants/{RO_ID}.hcl"]
    # the checked-out work tree followed the branch
    assert (access_repo.path / f"grants/{RO_ID}.hcl").exists()
    assert access_repo.git("status", "--porcelain") == ""


def test_merge_and_rule_needs_both_groups(access_repo: Repo) -> None:
    code, _, err = run(
        access_repo,
        "request",
        "aws-prod-admin",
        "--for",
        "1h",
        "--reason",
        "INC-9",
        "--as",
        "carol",
        "--local",
    )
    assert code == 0, err
    branch = "jit/request/carol-aws-prod-admin-20261124t1200"
    code, _, err = run(access_repo, "merge", branch, "--local", "--approved-by", "dave")
    assert code == 1 and "1 more from @acme/security" in err
    code, _, err = run(access_repo, "merge", branch, "--local", "--approved-by", "carol,erin")
    assert code == 1 and "1 more from @acme/sre" in err  # carol is the author
    code, _, err = run(access_repo, "merge", branch, "--local", "--approved-by", "dave,erin")
    assert code == 0, err
    assert [v for k, v in trailers(access_repo) if k == "Approved-by"] == ["dave", "erin"]


def test_merge_refuses_a_branch_that_breaks_policy(access_repo: Repo) -> None:
    access_repo.checkout("sneaky", new=True, start="main")
    access_repo.commit(
        {"grants/x.hcl": grant_text(expires_at="2026-11-26T00:00:00Z")},
        "Jit-Kind: request\n\nRequested-by: alice",
    )
    access_repo.checkout("main")
    before = state(access_repo)
    code, _, err = run(
        access_repo, "merge", "sneaky", "--local", "--approved-by", "carol", "--author", "alice"
    )
    assert code == 1
    assert "duration.exceeded" in err
    assert state(access_repo) == before


def test_merge_refuses_mixed_changes(access_repo: Repo) -> None:
    access_repo.checkout("mixed", new=True, start="main")
    access_repo.commit({"grants/x.hcl": grant_text(), "README.md": "hi"})
    access_repo.checkout("main")
    before = state(access_repo)
    code, _, err = run(
        access_repo, "merge", "mixed", "--local", "--approved-by", "carol", "--author", "alice"
    )
    assert code == 1
    assert "mixes grant changes" in err
    assert state(access_repo) == before


def test_merge_without_known_requester_is_refused(access_repo: Repo) -> None:
    access_repo.checkout("anon", new=True, start="main")
    access_repo.commit({"grants/x.hcl": grant_text()})
    access_repo.checkout("main")
    code, _, err = run(access_repo, "merge", "anon", "--local", "--approved-by", "carol")
    assert code == 1
    assert "requester.unknown" in err


def test_merge_refuses_dirty_checked_out_default_branch(access_repo: Repo) -> None:
    request_ro(access_repo)
    (access_repo.path / "catalog.yaml").write_text("edited")
    before = state(access_repo)
    code, _, err = run(access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "carol")
    assert code == 2
    assert "uncommitted changes" in err
    assert state(access_repo) == before


def test_merge_needs_local_until_github(access_repo: Repo) -> None:
    code, _, err = run(access_repo, "merge", "x")
    assert code == 2
    assert "--local" in err


# --- expire --------------------------------------------------------------------------------


def _seed_expiring(repo: Repo) -> None:
    repo.commit(
        {
            "grants/at-now.hcl": grant_text(expires_at="2026-11-24T12:00:00Z"),
            "grants/second-later.hcl": grant_text(expires_at="2026-11-24T12:00:01Z"),
            "grants/long-gone.hcl": grant_text(expires_at="2026-11-20T00:00:00Z"),
            "grants/pending.hcl": grant_text(
                starts_at="2026-11-24T13:00:00Z", expires_at="2026-11-24T14:00:00Z"
            ),
        },
        "grants",
    )


def test_expire_removes_exactly_the_expired(access_repo: Repo) -> None:
    _seed_expiring(access_repo)
    before = access_repo.rev("main")
    code, out, _ = run(access_repo, "expire", "--local", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [r["id"] for r in data["removed"]] == ["at-now", "long-gone"]
    assert access_repo.files("main") == [
        "grants/.gitkeep",
        "grants/pending.hcl",
        "grants/second-later.hcl",
    ]
    assert access_repo.git("log", "-1", "--format=%P", "main").strip() == before
    assert trailers(access_repo) == [
        ("Jit-Kind", "expiry"),
        ("Expired-Grant", "at-now 2026-11-24T12:00:00Z"),
        ("Expired-Grant", "long-gone 2026-11-20T00:00:00Z"),
    ]
    # the commit deletes exactly those files and touches nothing else
    changed = access_repo.git("show", "--name-status", "--format=", "main").split("\n")
    assert sorted(c for c in changed if c) == ["D\tgrants/at-now.hcl", "D\tgrants/long-gone.hcl"]
    assert access_repo.git("status", "--porcelain") == ""
    # idempotent: a second run makes no commit
    after = access_repo.rev("main")
    code, out, _ = run(access_repo, "expire", "--local")
    assert (code, out.strip()) == (0, "nothing has expired")
    assert access_repo.rev("main") == after


def test_expire_dry_run_makes_no_commit(access_repo: Repo) -> None:
    _seed_expiring(access_repo)
    before = state(access_repo)
    code, out, _ = run(access_repo, "expire", "--local", "--dry-run", "--format", "json")
    data = json.loads(out)
    assert (code, data["dry_run"], data["commit"]) == (0, True, None)
    assert [r["id"] for r in data["removed"]] == ["at-now", "long-gone"]
    assert state(access_repo) == before


def test_expire_interrupted_leaves_the_repository_as_it_was(
    access_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_expiring(access_repo)
    before = state(access_repo)
    real_run = GitRepo.run

    def failing(self: GitRepo, args: list[str], *a: object, **kw: object) -> str:
        if args[0] == "commit-tree":
            raise JitError("git commit-tree: simulated failure (disk full)", rule="git")
        return real_run(self, args, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(GitRepo, "run", failing)
    code, _, err = run(access_repo, "expire", "--local")
    assert code == 2
    assert "simulated failure" in err
    assert state(access_repo) == before
    assert not list((access_repo.path / ".git/jitctl").glob("index.*"))
    monkeypatch.setattr(GitRepo, "run", real_run)
    assert run(access_repo, "expire", "--local")[0] == 0  # and a later run still works


def test_expire_when_main_moved_concurrently_changes_nothing(
    access_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ref moves between read and write: the compare-and-swap refuses, nothing is lost.
    (Another process moves it with update-ref: a concurrent `git commit` in this work tree is
    refused outright, since jitctl holds index.lock while it moves the checked-out branch.)"""
    _seed_expiring(access_repo)
    real_update = GitRepo.update_ref
    tree = access_repo.rev("main^{tree}")
    concurrent = access_repo.git("commit-tree", tree, "-p", "main", "-m", "concurrent").strip()

    def racing(self: GitRepo, ref: str, new: str, old: str | None) -> None:
        access_repo.git("update-ref", "refs/heads/main", concurrent)
        real_update(self, ref, new, old)

    monkeypatch.setattr(GitRepo, "update_ref", racing)
    code, _, _err = run(access_repo, "expire", "--local")
    assert code == 2
    assert access_repo.git("log", "-1", "--format=%s", "main").strip() == "concurrent"
    assert "grants/at-now.hcl" in access_repo.files("main")


# --- revoke and extend ---------------------------------------------------------------------


def test_revoke(access_repo: Repo) -> None:
    access_repo.commit({"grants/alice-ro.hcl": grant_text()}, "granted")
    code, _out, err = run(
        access_repo, "revoke", "alice-ro", "--local", "--as", "carol", "--reason", "incident over"
    )
    assert code == 0, err
    assert access_repo.files("main") == ["grants/.gitkeep"]
    assert trailers(access_repo) == [
        ("Jit-Kind", "revocation"),
        ("Jit-Grant", "alice-ro"),
        ("Revoked-by", "carol"),
    ]
    code, _, err = run(access_repo, "revoke", "alice-ro", "--local", "--as", "carol")
    assert code == 2 and "no grant 'alice-ro'" in err


def test_extend_changes_only_expires_at_and_needs_approval(access_repo: Repo) -> None:
    request_ro(access_repo)
    assert run(access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "carol")[0] == 0
    code, out, err = run(
        access_repo,
        "extend",
        RO_ID,
        "--for",
        "2h",
        "--as",
        "alice",
        "--local",
        "--format",
        "json",
        now="2026-11-24T15:00:00Z",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "extension"
    branch = data["branch"]
    diff = access_repo.git("diff", "main", branch, "--", f"grants/{RO_ID}.hcl")
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == [
        '-  expires_at  = "2026-11-24T16:00:00Z"',
        '+  expires_at  = "2026-11-24T18:00:00Z"',
    ]
    code, _, err = run(access_repo, "merge", branch, "--local", now="2026-11-24T15:00:00Z")
    assert code == 1 and "not enough approvals" in err
    code, _, err = run(
        access_repo, "merge", branch, "--local", "--approved-by", "dave", now="2026-11-24T15:00:00Z"
    )
    assert code == 0, err
    assert ("Jit-Kind", "extension") in trailers(access_repo)


def test_extend_beyond_max_duration_is_refused(access_repo: Repo) -> None:
    request_ro(access_repo)
    run(access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "carol")
    before = state(access_repo)
    code, _, err = run(access_repo, "extend", RO_ID, "--for", "9h", "--as", "alice", "--local")
    assert code == 1
    assert "duration.exceeded" in err
    assert state(access_repo) == before


# --- demo ----------------------------------------------------------------------------------


def test_demo_runs_the_whole_lifecycle(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--now", NOW, "demo", "--dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    out = result.output
    for needle in [
        "change: request; ok",
        "requester.not-allowed",
        "the author's own approval never counts",
        "merged jit/request/alice-aws-prod-readonly-20261124t1200",
        'AWS: explicit Deny "*" when aws:CurrentTime is after 2026-11-24T16:00:00Z',
        "removed grants/alice-aws-prod-readonly-20261124t1200.hcl",
        "nothing has expired",
        "Approved-by: carol",
        "Expired-Grant: alice-aws-prod-readonly-20261124t1200 2026-11-24T16:00:00Z",
        "2026-11-24T12:00:00Z  approved  alice-aws-prod-readonly-20261124t1200  by carol",
        "2026-11-24T16:00:00Z  expired   alice-aws-prod-readonly-20261124t1200",
    ]:
        assert needle in out, needle
    repo = Repo.__new__(Repo)
    repo.path = tmp_path / "d"
    assert repo.files("main") == ["grants/.gitkeep"]


def test_entitlements_in_the_demo_repository(tmp_path: Path) -> None:
    """`jitctl entitlements --as alice` in the demo repository lists exactly what the catalog
    allows her: aws-prod-admin is for @acme/sre only; the rest is open to her identities."""
    demo = CliRunner().invoke(main, ["--now", NOW, "demo", "--dir", str(tmp_path / "d")])
    assert demo.exit_code == 0, demo.output
    assert "alice may request:" in demo.output
    args = ["--repo", str(tmp_path / "d"), "entitlements", "--as", "alice", "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    mine = ["alice@example.com", "11111111-1111-4111-8111-111111111111"]
    assert data["login"] == "alice"
    assert [
        (e["name"], e["principals"], e["max_duration"], e["approvals"])
        for e in data["entitlements"]
    ] == [
        ("aws-prod-readonly", mine, "12h", [{"from": ["@acme/sre", "carol"], "count": 1}]),
        ("azure-prod-contributor", mine, "4h", [{"from": ["@acme/sre"], "count": 2}]),
        ("gcp-prod-logs-viewer", mine, "1d", [{"from": ["@acme/sre"], "count": 1}]),
    ]
    assert data["not_requestable"] == [{"name": "aws-prod-admin", "why": "requesters: @acme/sre"}]
    # the same answer the check gives: what is listed can be requested, the rest is refused
    for e in data["entitlements"]:
        r = CliRunner().invoke(
            main,
            ["--repo", str(tmp_path / "d"), "--now", NOW, "request", e["name"], "--for", "1h",
             "--reason", "x", "--as", "alice", "--format", "json"],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main,
        ["--repo", str(tmp_path / "d"), "--now", NOW, "request", "aws-prod-admin", "--for", "1h",
         "--reason", "x", "--as", "alice"],
    )  # fmt: skip
    assert r.exit_code == 1 and "requester.not-allowed" in r.stderr


def test_entitlements_for_someone_without_identity(access_repo: Repo) -> None:
    code, out, err = run(access_repo, "entitlements", "--as", "mallory")
    assert code == 0
    assert "mallory may request nothing" in out
    assert "mallory has no identity in the catalog" in err


def test_entitlements_deny_unresolved_teams(access_repo: Repo) -> None:
    from tests.factories import EXAMPLE_CATALOG_TEXT

    line = '  "@acme/engineering": [alice, bob, carol, dave]\n'
    access_repo.commit({"catalog.yaml": EXAMPLE_CATALOG_TEXT.replace(line, "")})
    code, out, _ = run(access_repo, "entitlements", "--as", "alice", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert "aws-prod-readonly" not in [e["name"] for e in data["entitlements"]]
    assert {
        "name": "aws-prod-readonly",
        "why": "requesters: @acme/engineering (@acme/engineering not resolved here: counted as "
        "no one)",
    } in data["not_requestable"]


def test_demo_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("x")
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.stderr


# --- the clock starts at approval ----------------------------------------------------------


def grant_on_main(repo: Repo, gid: str = RO_ID) -> str:
    return repo.show("main", f"grants/{gid}.hcl")


def test_request_approved_late_gets_its_full_duration(access_repo: Repo) -> None:
    assert request_ro(access_repo)[0] == 0  # 4h, asked at 12:00
    base, head = access_repo.rev("main"), access_repo.rev(RO_BRANCH)
    # approved and merged 90 minutes later: access still lasts 4h, from the merge
    code, out, err = run(
        access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "carol",
        now="2026-11-24T13:30:00Z",
    )  # fmt: skip
    assert code == 0, err
    text = grant_on_main(access_repo)
    assert 'duration    = "4h"' in text
    assert 'expires_at  = "2026-11-24T17:30:00Z"' in text
    # the merge commit writes exactly one line into the approved file, nothing else
    diff = access_repo.git("diff", head, "main")
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ['+  expires_at  = "2026-11-24T17:30:00Z"']
    assert access_repo.git("log", "-1", "--format=%P", "main").split() == [base, head]
    assert ("Approved-by", "carol") in trailers(access_repo)
    # main holds an absolute time: list, render and check read a plain grant
    code, out, _ = run(access_repo, "list", "--format", "json", now="2026-11-24T13:30:00Z")
    assert code == 0
    (row,) = json.loads(out)["grants"]
    assert row["expires_at"] == "2026-11-24T17:30:00Z"
    assert run(access_repo, "check", now="2026-11-24T13:30:00Z")[0] == 0


def test_fixed_end_keeps_todays_meaning(access_repo: Repo) -> None:
    assert request_ro(access_repo, "--fixed-end")[0] == 0
    text = access_repo.show(RO_BRANCH, f"grants/{RO_ID}.hcl")
    assert 'expires_at  = "2026-11-24T16:00:00Z"' in text and "duration" not in text
    code, _, err = run(
        access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "carol",
        now="2026-11-24T13:30:00Z",
    )  # fmt: skip
    assert code == 0, err
    assert grant_on_main(access_repo) == text  # merged as reviewed: 2.5h left


def tighten_catalog(repo: Repo, entitlement: str, max_duration: str) -> None:
    from tests.factories import EXAMPLE_CATALOG_TEXT

    marker = f"  {entitlement}:\n"
    head, rest = EXAMPLE_CATALOG_TEXT.split(marker, 1)
    block, tail = rest.split("\n\n", 1)
    lines = [
        f"    max_duration: {max_duration}" if ln.startswith("    max_duration:") else ln
        for ln in block.splitlines()
    ]
    repo.checkout("main")
    repo.commit({"catalog.yaml": head + marker + "\n".join(lines) + "\n\n" + tail}, "tighten")


def test_duration_past_max_at_merge_is_capped_and_audited(access_repo: Repo) -> None:
    assert request_ro(access_repo)[0] == 0  # 4h while max_duration is 12h
    tighten_catalog(access_repo, "aws-prod-readonly", "1h")
    # the check of the request says it will be capped (a warning, not a refusal)
    code, out, _ = run(
        access_repo, "check", "--base", "main", "--head", RO_BRANCH, "--author", "alice",
        "--format", "json", now="2026-11-24T13:00:00Z",
    )  # fmt: skip
    assert code == 0
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["duration.capped"]
    code, _, err = run(
        access_repo, "merge", RO_BRANCH, "--local", "--approved-by", "carol",
        now="2026-11-24T13:00:00Z",
    )  # fmt: skip
    assert code == 0, err
    assert 'expires_at  = "2026-11-24T14:00:00Z"' in grant_on_main(access_repo)
    # the audit shows both: 4h asked, granted 13:00 -> 14:00
    code, out, _ = run(access_repo, "audit", "--format", "jsonl", now="2026-11-24T13:00:00Z")
    events = {e["event"]: e for e in map(json.loads, out.splitlines())}
    assert events["requested"]["at"] == "2026-11-24T12:00:00Z"
    granted = events["granted"]
    assert (granted["at"], granted["expires_at"], granted["duration"]) == (
        "2026-11-24T13:00:00Z",
        "2026-11-24T14:00:00Z",
        "4h",
    )


def test_starts_at_later_than_the_merge_keeps_its_window(access_repo: Repo) -> None:
    code, _, err = request_ro(access_repo, "--starts-at", "2026-11-24T20:00:00Z")
    assert code == 0, err
    branch = "jit/request/alice-aws-prod-readonly-20261124t2000"
    code, _, err = run(access_repo, "merge", branch, "--local", "--approved-by", "carol")
    assert code == 0, err
    text = access_repo.show("main", "grants/alice-aws-prod-readonly-20261124t2000.hcl")
    assert 'expires_at  = "2026-11-25T00:00:00Z"' in text


def test_a_request_may_not_claim_more_than_its_duration(access_repo: Repo) -> None:
    """Attack: the requester writes both a duration and a far expires_at, hoping reviewers read
    the duration while Terraform reads the expiry."""
    access_repo.checkout("sneaky", new=True, start="main")
    access_repo.commit(
        {"grants/x.hcl": grant_text(duration="1h", expires_at="2026-11-24T23:00:00Z")}, "req"
    )
    access_repo.checkout("main")
    code, out, _ = run(
        access_repo, "check", "--base", "main", "--head", "sneaky", "--author", "alice",
        "--format", "json",
    )  # fmt: skip
    assert code == 1
    assert "duration.window" in [f["rule"] for f in json.loads(out)["findings"]]
    code, _, err = run(access_repo, "merge", "sneaky", "--local", "--approved-by", "carol")
    assert code == 1 and "breaks policy" in err


def test_an_open_request_merged_by_hand_grants_nothing(access_repo: Repo) -> None:
    """Attack: someone with write access merges an open request by hand (no expires_at)."""
    access_repo.checkout("main")
    access_repo.commit({"grants/x.hcl": grant_text(duration="1h", expires_at=None)}, "by hand")
    code, out, _ = run(access_repo, "render")
    assert code in (0, 1) and "grants/x" not in out and '"x"' not in out
    code, out, _ = run(access_repo, "check", "--format", "json")
    assert code == 1
    assert "grant.unmaterialised" in [f["rule"] for f in json.loads(out)["findings"]]
    code, out, _ = run(access_repo, "expire", "--local", "--dry-run", "--format", "json")
    assert json.loads(out)["invalid"] == ["grants/x.hcl"]


def test_request_on_the_clock_writes_whole_seconds_and_a_utc_id(access_repo: Repo) -> None:
    """Without --now, the clock's fraction of a second never reaches a grant file, and the id
    is stamped in UTC whatever zone --starts-at is given in."""
    result = CliRunner().invoke(
        main,
        [
            "--repo", str(access_repo.path), "request", "aws-prod-readonly", "--for", "1h",
            "--reason", "r", "--as", "alice", "--starts-at", "2099-01-01T09:30:00+05:00",
            "--fixed-end", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "alice-aws-prod-readonly-20990101t0430"
    text = (access_repo.path / data["path"]).read_text()
    assert 'starts_at   = "2099-01-01T04:30:00Z"' in text
    assert 'expires_at  = "2099-01-01T05:30:00Z"' in text
    result = CliRunner().invoke(
        main,
        [
            "--repo", str(access_repo.path), "request", "gcp-prod-logs-viewer", "--for", "1h",
            "--reason", "r", "--as", "alice", "--fixed-end", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (access_repo.path / json.loads(result.stdout)["path"]).read_text()
    [expires] = re.findall(r'expires_at  = "([^"]+)"', text)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expires), expires


def test_merge_on_the_clock_writes_whole_seconds(access_repo: Repo) -> None:
    """The clock starts at the merge: its fraction of a second never reaches the file."""
    result = CliRunner().invoke(
        main,
        [
            "--repo", str(access_repo.path), "request", "gcp-prod-logs-viewer", "--for", "1h",
            "--reason", "r", "--as", "alice", "--local", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    merged = CliRunner().invoke(
        main,
        ["--repo", str(access_repo.path), "merge", data["branch"], "--local", "--approved-by",
         "dave"],
    )  # fmt: skip
    assert merged.exit_code == 0, merged.output
    text = access_repo.show("main", data["path"])
    [expires] = re.findall(r'expires_at  = "([^"]+)"', text)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expires), expires
