"""check, list and render through the CLI, on real git repositories (base and head commits)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.core.model import grant_state
from controller.core.times import format_rfc3339
from controller.git.repo import GitRepo
from controller.git.snapshot import read_grant_files
from tests.factories import EXAMPLE_CATALOG_TEXT, grant_text
from tests.gitutil import Repo

NOW = "2026-11-24T12:00:00Z"


def run(
    repo: Repo, *args: str, now: str = NOW, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(main, ["--repo", str(repo.path), "--now", now, *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def propose(repo: Repo, files: dict[str, str | bytes | None], branch: str = "req") -> None:
    repo.checkout(branch, new=True, start="main")
    repo.commit(files, "request")


def check_json(repo: Repo, author: str = "alice", branch: str = "req") -> tuple[int, dict]:
    code, out, _ = run(
        repo, "check", "--base", "main", "--head", branch, "--author", author, "--format", "json"
    )
    return code, json.loads(out)


def test_valid_request(access_repo: Repo) -> None:
    propose(access_repo, {"grants/alice-ro.hcl": grant_text()})
    code, data = check_json(access_repo)
    assert code == 0
    assert data == {
        "ok": True,
        "kind": "request",
        "needs_approval": True,
        "approval_rules": [{"from": ["@acme/sre", "carol"], "count": 1}],
        "grants": [{"path": "grants/alice-ro.hcl", "id": "alice-ro", "change": "request"}],
        "other_paths": [],
        "findings": [],
    }


# Azure: one principal, role and scope, two windows with a gap (14:00..16:00)
AZ, AZE = "11111111-1111-4111-8111-111111111111", "azure-prod-contributor"
AZ_END_A, AZ_START_B, AZ_END_B = (
    "2026-11-24T14:00:00Z",
    "2026-11-24T16:00:00Z",
    "2026-11-24T18:00:00Z",
)

# every rule once more through the CLI: (files at head, author, expected rule, expected line)
FAILING = [
    ({"grants/a.hcl": grant_text(entitlement="nope")}, "alice", "entitlement.unknown", 3),
    ({"grants/a.hcl": grant_text(principal="bob@example.com")}, "alice", "requester.principal", 2),
    (
        {"grants/a.hcl": grant_text(principal="erin@example.com")},
        "erin",
        "requester.not-allowed",
        3,
    ),
    ({"grants/a.hcl": grant_text(reason="")}, "alice", "reason.empty", 5),
    ({"grants/a.hcl": grant_text(expires_at="2026-11-24T11:59:59Z")}, "alice", "expiry.past", 4),
    (
        {"grants/a.hcl": grant_text(expires_at="2026-11-25T00:00:01Z")},
        "alice",
        "duration.exceeded",
        4,
    ),
    ({"grants/a.hcl": grant_text(expires_at="2026-11-25")}, "alice", "grant.time.format", 4),
    ({"grants/a.hcl": grant_text() + "grant {\n}\n"}, "alice", "grant.block", 7),
    ({"grants/a.hcl": grant_text(reason="${var.x}")}, "alice", "grant.value.literal", 5),
    ({"grants/A.hcl": grant_text()}, "alice", "grant.path", None),
    ({"grants/sub/a.hcl": grant_text()}, "alice", "grant.path", None),
    ({"grants/a.hcl": b'grant {\n  reason = "\xff"\n}\n'}, "alice", "grant.encoding", 2),
    (
        {"grants/a.hcl": grant_text().replace("  reason", '  principal = "x@y"\n  reason')},
        "alice",
        "grant.attribute.duplicate",
        5,
    ),
    ({"grants/a.hcl": "grant {\n  principal = \n}\n"}, "alice", "grant.syntax", 2),
    ({"grants/a.hcl": grant_text(colour="red")}, "alice", "grant.attribute.unknown", 6),
    ({"grants/a.hcl": grant_text(reason=None)}, "alice", "grant.attribute.missing", 1),
    ({"grants/a.hcl": grant_text(principal=" ")}, "alice", "grant.value.empty", 2),
    ({"grants/a.hcl": grant_text(reason="a\\u001b[31mred")}, "alice", "grant.value.control", 5),
    (
        {"grants/a.hcl": grant_text().replace("grant {", "grant { # \u202e")},
        "alice",
        "grant.text.invisible",
        1,
    ),
    ({"grants/a.hcl": grant_text(reason="caf\u0065\u0301")}, "alice", "grant.value.nfc", 5),
    (
        {"grants/a.hcl": grant_text(starts_at="2026-11-24T16:00:00Z")},
        "alice",
        "grant.time.order",
        6,
    ),
    ({"grants/a.hcl": b"#" * 70_000}, "alice", "grant.size", None),
    (
        {
            "grants/a.hcl": grant_text(
                principal=AZ, entitlement=AZE, expires_at="2026-11-24T12:04:00Z"
            )
        },
        "alice",
        "azure.duration",
        4,
    ),
    (
        {
            "grants/a.hcl": grant_text(principal=AZ, entitlement=AZE, expires_at=AZ_END_A),
            "grants/b.hcl": grant_text(
                principal=AZ, entitlement=AZE, starts_at=AZ_START_B, expires_at=AZ_END_B
            ),
        },
        "alice",
        "azure.disjoint",
        4,
    ),
    ({"grants/a.hcl": grant_text(duration="soon")}, "alice", "grant.duration.format", 6),
    ({"grants/a.hcl": grant_text(duration="1h")}, "alice", "duration.window", 4),
]


@pytest.mark.parametrize(
    ("files", "author", "rule", "line"), FAILING, ids=[f[2] + str(i) for i, f in enumerate(FAILING)]
)
def test_failing_rules(
    access_repo: Repo, files: dict, author: str, rule: str, line: int | None
) -> None:
    propose(access_repo, files)
    code, data = check_json(access_repo, author=author)
    assert code == 1
    assert not data["ok"]
    got = [(f["rule"], f["line"]) for f in data["findings"] if f["severity"] == "error"]
    assert (rule, line) in got, data["findings"]


def test_open_request_is_judged_as_if_merged_now(access_repo: Repo) -> None:
    """A request asking for a duration (no expires_at) is judged as the grant it becomes if
    merged now; one asking for more than max_duration is capped (a warning)."""
    propose(access_repo, {"grants/a.hcl": grant_text(expires_at=None, duration="13h")})
    code, data = check_json(access_repo)
    assert (code, data["kind"], data["needs_approval"]) == (0, "request", True)
    assert [(f["rule"], f["severity"], f["line"]) for f in data["findings"]] == [
        ("duration.capped", "warning", 5)
    ]


def test_an_extension_may_not_drop_expires_at(access_repo: Repo) -> None:
    access_repo.commit({"grants/alice-ro.hcl": grant_text(duration="4h")}, "granted")
    propose(access_repo, {"grants/alice-ro.hcl": grant_text(expires_at=None, duration="8h")})
    code, data = check_json(access_repo)
    assert code == 1
    assert "grant.unmaterialised" in [f["rule"] for f in data["findings"]]


ADMIN = {
    "principal": "dave@example.com",
    "entitlement": "aws-prod-admin",
    "expires_at": "2026-11-24T13:00:00Z",
}


@pytest.mark.parametrize(
    ("files", "rule"),
    [
        ({"grants/a.hcl": grant_text()}, "break-glass.not-allowed"),
        ({"grants/a.hcl": grant_text(**{**ADMIN, "expires_at": "2026-11-24T13:00:01Z"})},
         "break-glass.duration"),
        ({".gitkeep2": "x", "grants/a.hcl": grant_text(**ADMIN)}, "break-glass.kind"),
    ],
)  # fmt: skip
def test_break_glass_rules(access_repo: Repo, files: dict, rule: str) -> None:
    propose(access_repo, files)
    author = "alice" if rule == "break-glass.not-allowed" else "dave"
    code, out, _ = run(
        access_repo, "check", "--base", "main", "--head", "req", "--author", author,
        "--break-glass", "--format", "json",
    )  # fmt: skip
    assert code == 1
    assert rule in [f["rule"] for f in json.loads(out)["findings"]]


def test_break_glass_check_passes_without_approval(access_repo: Repo) -> None:
    propose(access_repo, {"grants/a.hcl": grant_text(**ADMIN)})
    args = ["check", "--base", "main", "--head", "req", "--author", "dave"]
    code, out, _ = run(access_repo, *args, "--break-glass")
    assert code == 0
    assert "BREAK-GLASS: no approval before merge" in out
    code, out, _ = run(access_repo, *args)
    assert code == 0 and "needs approval: 1 of @acme/sre; AND 1 of @acme/security" in out


def test_symlinked_grant_is_refused(access_repo: Repo) -> None:
    access_repo.checkout("req", new=True, start="main")
    (access_repo.path / "grants/real.txt").write_text(grant_text())
    (access_repo.path / "grants/a.hcl").symlink_to("real.txt")
    access_repo.git("add", "grants")
    access_repo.git("commit", "-q", "-m", "symlink")
    code, data = check_json(access_repo)
    assert code == 1
    rules = {(f["file"], f["rule"]) for f in data["findings"]}
    assert ("grants/a.hcl", "grant.symlink") in rules
    assert ("grants/real.txt", "grant.path") in rules


def test_every_rule_is_exercised_through_the_cli() -> None:
    """Each rule id has a failing case in this file (the valid request passes them all)."""
    from controller.core import policy
    from controller.formats import grantfile

    here = Path(__file__).read_text()
    missing = [r for r in (*grantfile.RULES, *policy.RULES) if f'"{r}"' not in here]
    assert missing == []


def test_check_without_author_cannot_judge_a_request(access_repo: Repo) -> None:
    propose(access_repo, {"grants/a.hcl": grant_text()})
    code, out, _ = run(access_repo, "check", "--base", "main", "--head", "req")
    assert code == 1
    assert "requester.unknown" in out


def test_check_at_head_warns_about_expired(access_repo: Repo) -> None:
    access_repo.commit({"grants/old.hcl": grant_text(expires_at="2026-11-24T11:00:00Z")})
    code, out, _ = run(access_repo, "check", "--format", "json")
    assert code == 0
    [f] = json.loads(out)["findings"]
    assert (f["rule"], f["severity"], f["line"]) == ("grant.expired", "warning", 4)


def test_modified_grant_is_extension_and_immutables_hold(access_repo: Repo) -> None:
    access_repo.commit({"grants/alice-ro.hcl": grant_text()}, "granted")
    propose(access_repo, {"grants/alice-ro.hcl": grant_text(expires_at="2026-11-24T20:00:00Z")})
    code, data = check_json(access_repo)
    assert (code, data["kind"], data["needs_approval"]) == (0, "extension", True)
    access_repo.checkout("main")
    propose(
        access_repo,
        {"grants/alice-ro.hcl": grant_text(entitlement="gcp-prod-logs-viewer")},
        branch="sneaky",
    )
    code, data = check_json(access_repo, branch="sneaky")
    assert code == 1
    assert [f["rule"] for f in data["findings"]] == ["grant.immutable"]


def test_revocation_and_expiry_need_no_approval(access_repo: Repo) -> None:
    access_repo.commit(
        {
            "grants/old.hcl": grant_text(expires_at="2026-11-24T11:00:00Z"),
            "grants/live.hcl": grant_text(),
        },
        "granted",
    )
    propose(access_repo, {"grants/old.hcl": None}, branch="exp")
    code, data = check_json(access_repo, branch="exp")
    assert (code, data["kind"], data["needs_approval"]) == (0, "expiry", False)
    code, out, _ = run(
        access_repo, "check", "--base", "main", "--head", "exp", "--expect-kind", "expiry"
    )
    assert code == 0, out
    access_repo.checkout("main")
    propose(access_repo, {"grants/live.hcl": None}, branch="rev")
    for author in ("alice", "carol"):  # the holder; an approver of aws-prod-readonly
        code, data = check_json(access_repo, author=author, branch="rev")
        assert (code, data["kind"], data["needs_approval"]) == (0, "revocation", False)
    # anyone else's revocation of alice's grant needs its approvals (policy.may_revoke)
    code, data = check_json(access_repo, author="bob", branch="rev")
    assert (code, data["kind"], data["needs_approval"]) == (0, "revocation", True)
    assert data["approval_rules"] == [{"from": ["@acme/sre", "carol"], "count": 1}]
    code, out, _ = run(
        access_repo, "check", "--base", "main", "--head", "rev", "--expect-kind", "expiry"
    )
    assert code == 1
    assert "change.not-expiry" in out


def test_the_catalog_is_read_at_the_base(access_repo: Repo) -> None:
    loosened = EXAMPLE_CATALOG_TEXT.replace("max_duration: 12h", "max_duration: 30d")
    propose(
        access_repo,
        {
            "catalog.yaml": loosened,
            "grants/alice-ro.hcl": grant_text(expires_at="2026-12-20T00:00:00Z"),
        },
    )
    code, data = check_json(access_repo)
    assert code == 1
    assert data["kind"] == "mixed"
    assert data["other_paths"] == ["catalog.yaml"]
    assert [f["rule"] for f in data["findings"]] == ["duration.exceeded"]


def test_overlap_is_reported(access_repo: Repo) -> None:
    access_repo.commit(
        {
            "grants/alice-ro-1.hcl": grant_text(),
            "grants/bob.hcl": grant_text(principal="bob@example.com"),
        },
        "granted",
    )
    propose(access_repo, {"grants/alice-ro-2.hcl": grant_text(expires_at="2026-11-24T18:00:00Z")})
    code, data = check_json(access_repo)
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in data["findings"]] == [("grant.overlap", "warning")]


def test_github_format_annotations_and_summary(access_repo: Repo, tmp_path: Path) -> None:
    propose(access_repo, {"grants/a.hcl": grant_text(reason="")})
    summary = tmp_path / "summary.md"
    code, out, _ = run(
        access_repo,
        "check",
        "--base",
        "main",
        "--head",
        "req",
        "--author",
        "alice",
        "--format",
        "github",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert code == 1
    assert "::error file=grants/a.hcl,line=5,title=reason.empty::reason is empty" in out
    text = summary.read_text()
    assert "| error | `reason.empty` | grants/a.hcl | 5 |" in text


def test_check_without_refs_checks_every_grant_at_head(access_repo: Repo) -> None:
    access_repo.commit({"grants/a.hcl": grant_text(), "grants/b.hcl": grant_text(entitlement="x")})
    code, out, _ = run(access_repo, "check")
    assert code == 1
    assert "grants/b.hcl:3: error [entitlement.unknown]" in out
    assert "grants/a.hcl" not in out


def test_list_states(access_repo: Repo) -> None:
    access_repo.commit(
        {
            "grants/active.hcl": grant_text(),
            "grants/expired.hcl": grant_text(expires_at=NOW),
            "grants/pending.hcl": grant_text(starts_at="2026-11-24T13:00:00Z"),
        }
    )
    code, out, _ = run(access_repo, "list", "--format", "json")
    assert code == 0
    states = {g["id"]: g["state"] for g in json.loads(out)["grants"]}
    assert states == {"active": "active", "expired": "expired", "pending": "pending"}
    for state in ("active", "expired", "pending"):
        code, out, _ = run(access_repo, "list", "--state", state, "--format", "json")
        assert [g["id"] for g in json.loads(out)["grants"]] == [state]
    code, out, _ = run(access_repo, "list")
    assert "pending  pending  alice@example.com -> aws-prod-readonly" in out
    assert "(starts in 1h)" in out


def test_list_cold_warm_and_per_state_is_what_the_grants_say(access_repo: Repo) -> None:
    """list reads columns (no Grant objects from a warm cache): for every --state, cold and
    warm, its rows are what read_grant_files and grant_state say of each grant, in path order,
    with the bad files' findings on stderr."""

    access_repo.commit(
        {
            "grants/b-active.hcl": grant_text(ticket="OPS-1"),
            "grants/a-expired.hcl": grant_text(expires_at="2026-11-24T11:00:00+01:00"),
            "grants/c-pending.hcl": grant_text(starts_at="2026-11-24T13:00:00Z"),
            "grants/d-old.hcl": grant_text(expires_at="2026-11-24T10:00:00.5Z"),
            "grants/e-unicode.hcl": grant_text(reason="INC-9: Zürich outage"),
            "grants/nested/x.hcl": grant_text(),
            "grants/bad.hcl": "grant {",
        }
    )
    now = datetime.fromisoformat("2026-11-24T12:00:00+00:00")
    with GitRepo(access_repo.path) as repo:
        files = read_grant_files(repo, "HEAD", cache=False)
    grants = [files[p].grant for p in sorted(files) if files[p].grant is not None]
    for state in ("all", "active", "expired", "pending", "overdue"):
        want = [
            {
                "id": g.id,
                "path": g.path,
                "state": grant_state(g, now).value,
                "principal": g.principal,
                "entitlement": g.entitlement,
                "starts_at": format_rfc3339(g.starts_at) if g.starts_at else None,
                "expires_at": format_rfc3339(g.expires_at),
                "reason": g.reason,
                "ticket": g.ticket,
            }
            for g in grants
            if state == "all"
            or (state == "overdue" and now - g.expires_at >= timedelta(minutes=30))
            or grant_state(g, now).value == state
        ]
        assert want or state == "overdue"
        outputs = []
        for fmt in ("json", "text"):
            for warm in (False, True):
                if not warm:
                    shutil.rmtree(access_repo.path / ".git" / "jitctl", ignore_errors=True)
                code, out, err = run(access_repo, "list", "--state", state, "--format", fmt)
                assert code == 1, err  # the bad file (and overdue grants)
                assert "grants/bad.hcl" in err and "grant.syntax" in err
                outputs.append(out)
                if fmt == "json":
                    assert json.loads(out) == {"now": NOW, "grants": want}
                else:
                    assert [ln.split()[1] for ln in out.splitlines()] == [r["id"] for r in want]
        assert outputs[0] == outputs[1] and outputs[2] == outputs[3]


def test_list_reports_invalid_files(access_repo: Repo) -> None:
    access_repo.commit({"grants/ok.hcl": grant_text(), "grants/bad.hcl": "grant {"})
    code, out, err = run(access_repo, "list")
    assert code == 1
    assert "ok" in out
    assert "grants/bad.hcl" in err and "grant.syntax" in err


def test_render_to_file(access_repo: Repo, tmp_path: Path) -> None:
    access_repo.commit(
        {"grants/a.hcl": grant_text(), "grants/gone.hcl": grant_text(expires_at=NOW)}
    )
    out_file = tmp_path / "grants.auto.tfvars.json"
    code, _, err = run(access_repo, "render", "--out", str(out_file))
    assert code == 0, err
    text = out_file.read_text()
    doc = json.loads(text)
    assert list(doc["grants"]) == ["a"]
    assert "left out 1 expired" in err
    # compact (one line, no spaces between tokens), keys sorted, no null optional values
    assert text.count("\n") == 1 and '": ' not in text and "null" not in text
    assert text == json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "--base", "nope"], "unknown git ref 'nope'"),
        (["check", "--head", "main"], "--head needs --base"),
        (["list", "--state", "weird"], "Invalid value"),
    ],
)
def test_usage_and_input_errors_exit_2(access_repo: Repo, args: list[str], needle: str) -> None:
    code, _out, err = run(access_repo, *args)
    assert code == 2
    assert needle in err


def test_bad_now_exits_2(access_repo: Repo) -> None:
    code, _, err = run(access_repo, "list", now="tomorrow")
    assert code == 2
    assert "RFC 3339" in err


def test_not_a_repository_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--repo", str(tmp_path), "list"])
    assert result.exit_code == 2
    assert "not a git repository" in result.stderr


def test_broken_catalog_exits_2_naming_the_key(access_repo: Repo) -> None:
    access_repo.commit({"catalog.yaml": EXAMPLE_CATALOG_TEXT.replace("version: 1", "version: 7")})
    code, _, err = run(access_repo, "check")
    assert code == 2
    assert "catalog.yaml:4: version: must be 1" in err


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for name in main.list_commands(click.Context(main)):
        command = main.command_named(name)
        assert command is not None and command.help and "Example:" in command.help, name
        result = runner.invoke(main, [name, "-h"])
        assert result.exit_code == 0, name
    assert runner.invoke(main, ["--version"]).output.startswith("jitctl, version")


def test_list_overdue_is_the_watchdog(access_repo: Repo) -> None:
    access_repo.commit(
        {
            "grants/late.hcl": grant_text(expires_at="2026-11-24T11:30:00Z"),  # exactly 30m ago
            "grants/recent.hcl": grant_text(expires_at="2026-11-24T11:30:01Z"),
            "grants/live.hcl": grant_text(),
        }
    )
    code, out, err = run(access_repo, "list", "--state", "overdue", "--format", "json")
    assert code == 1
    assert [g["id"] for g in json.loads(out)["grants"]] == ["late"]
    assert "is the expiry schedule running?" in err
    code, out, _ = run(access_repo, "list", "--state", "overdue", "--grace", "1h")
    assert (code, out.strip()) == (0, "no overdue grants")


def test_catalog_file_on_disk_overrides_the_committed_one(
    access_repo: Repo, tmp_path: Path
) -> None:
    access_repo.commit({"grants/a.hcl": grant_text(entitlement="brand-new")})
    code, _, _ = run(access_repo, "check")
    assert code == 1  # unknown at HEAD's catalog
    trusted = tmp_path / "trusted-catalog.yaml"
    trusted.write_text(EXAMPLE_CATALOG_TEXT.replace("  gcp-prod-logs-viewer:", "  brand-new:"))
    result = CliRunner().invoke(
        main, ["--repo", str(access_repo.path), "--now", NOW, "--catalog", str(trusted), "check"]
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        main, ["--repo", str(access_repo.path), "--catalog", str(tmp_path / "none.yaml"), "check"]
    )
    assert result.exit_code == 2
    assert "cannot read the catalog" in result.stderr


def test_a_bug_exits_3_with_a_short_report(
    access_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import controller.cli.grants as cli

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "render", broken)
    code, _, err = run(access_repo, "render")
    assert code == 3
    assert "Internal error (a bug in jitctl" in err and "RuntimeError: boom" in err
    assert "Traceback" not in err


def test_list_from_inside_grants(access_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository is found from a sub-folder (git's discovery), as git itself finds it."""
    access_repo.commit({"grants/alice-ro.hcl": grant_text()})
    monkeypatch.chdir(access_repo.path / "grants")
    result = CliRunner().invoke(main, ["--now", NOW, "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [g["id"] for g in json.loads(result.stdout)["grants"]] == ["alice-ro"]
    result = CliRunner().invoke(main, ["--repo", "..", "--now", NOW, "list", "--format", "json"])
    assert [g["id"] for g in json.loads(result.stdout)["grants"]] == ["alice-ro"]


def test_render_text_in_pieces_is_the_one_piece_text() -> None:
    """Render writes 2,000 grants at a time (orjson): the text is json.dumps' of the whole
    document (UTF-8, non-ASCII characters as themselves); an integer orjson cannot write goes
    through the json module, in the same form."""
    from controller.cli.grants import _render_text

    for n in (0, 1, 1999, 2000, 4501):
        doc = {
            "jitctl_render_version": 1,
            "now": "2026-11-24T12:00:00Z",
            "grants": {
                f"g{i:05d}": {"principal": f"p{i}\u00e9\u2028", "target": {"b": 1, "a": [i]}}
                for i in range(n)
            },
        }
        whole = json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        whole += "\n"
        assert "".join(_render_text(doc)) == whole
    huge = {"jitctl_render_version": 1, "now": "x", "grants": {"g": {"target": {"n": 2**70}}}}
    assert (
        "".join(_render_text(huge))
        == json.dumps(huge, separators=(",", ":"), sort_keys=True) + "\n"
    )


def test_check_refuses_a_gitlink_and_an_executable_under_grants(access_repo: Repo) -> None:
    """Modes come from the tree: a submodule (gitlink) under grants/ is not skipped, and an
    executable grant file is not a grant (rule "grant.mode")."""
    repo = access_repo
    repo.checkout("req", new=True, start="main")
    main = repo.rev("main")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{main},grants/vendor")
    (repo.path / "grants/alice-x.hcl").write_text(grant_text())
    (repo.path / "grants/alice-x.hcl").chmod(0o755)
    repo.git("add", "grants/alice-x.hcl")
    repo.git("commit", "-q", "-m", "entries")
    code, data = check_json(repo)
    assert code == 1
    got = sorted((f["file"], f["rule"]) for f in data["findings"])
    assert got == [("grants/alice-x.hcl", "grant.mode"), ("grants/vendor", "grant.mode")]
    code, _, err = run(repo, "list")
    assert code == 1 and "grants/vendor" in err


def test_attack_5_check_judges_the_merge_onto_the_tip(access_repo: Repo) -> None:
    """A branch's read-only extension of a grant id that the base revoked and reused for admin
    is judged as what it merges: an admin extension (local check, real git merge)."""
    repo = access_repo

    def spaced(entitlement: str, expires_at: str) -> str:
        return (
            f'grant {{\n  entitlement = "{entitlement}"\n  principal   = "carol@example.com"\n'
            f'  reason      = "INC-5"\n  expires_at  = "{expires_at}"\n}}\n'
        )

    repo.commit({"grants/carol-x.hcl": spaced("aws-prod-readonly", "2026-11-24T13:00:00Z")})
    repo.checkout("req", new=True, start="main")
    repo.commit({"grants/carol-x.hcl": spaced("aws-prod-readonly", "2026-11-24T20:00:00Z")})
    repo.checkout("main")
    repo.commit({"grants/carol-x.hcl": None}, "revoke")
    repo.commit({"grants/carol-x.hcl": spaced("aws-prod-admin", "2026-11-24T13:00:00Z")}, "reuse")
    code, data = check_json(repo, author="carol")
    assert data["grants"] == [
        {"path": "grants/carol-x.hcl", "id": "carol-x", "change": "extension"}
    ]
    assert {"from": ["@acme/security"], "count": 1} in data["approval_rules"]
    assert code == 1 and "duration.exceeded" in {f["rule"] for f in data["findings"]}


def test_a_head_that_does_not_merge_cleanly_is_not_judged(access_repo: Repo) -> None:
    repo = access_repo
    repo.commit({"grants/alice-x.hcl": grant_text(reason="one")})
    repo.checkout("req", new=True, start="main")
    repo.commit({"grants/alice-x.hcl": grant_text(reason="two")})
    repo.checkout("main")
    repo.commit({"grants/alice-x.hcl": grant_text(reason="three")})
    code, data = check_json(repo)
    assert code == 1
    assert [f["rule"] for f in data["findings"]] == ["change.inexact"]


def test_attack_6_one_bad_file_never_blocks_revocation(access_repo: Repo, tmp_path: Path) -> None:
    """An invalid grant file on the default branch (a symlink, an unknown entitlement) is
    reported and left out; the other grants are still rendered, so applies (revocations and
    expiries included) go on; the exit code says it failed."""
    repo = access_repo
    repo.commit({"grants/a.hcl": grant_text(), "grants/b.hcl": grant_text(entitlement="gone")})
    (repo.path / "grants/link.hcl").symlink_to("a.hcl")
    repo.git("add", "grants/link.hcl")
    repo.git("commit", "-q", "-m", "bad files")
    out_file = tmp_path / "out.json"
    code, _, err = run(repo, "render", "--out", str(out_file))
    assert code == 1
    assert list(json.loads(out_file.read_text())["grants"]) == ["a"]
    assert "grant.symlink" in err and "entitlement.unknown" in err
    assert "left out 2 invalid grant file(s)" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "--repo", "{repo}", "--now", NOW, "--format", "json"],
        ["list", "--format", "json", "--repo={repo}", "--now={now}"],
        ["--now", NOW, "list", "--repo", "{repo}", "--format", "json"],
    ],
)
def test_global_options_after_the_command(access_repo: Repo, argv: list[str]) -> None:
    access_repo.commit({"grants/alice-ro.hcl": grant_text()})
    args = [a.format(repo=access_repo.path, now=NOW) for a in argv]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert [g["id"] for g in json.loads(result.stdout)["grants"]] == ["alice-ro"]


def test_global_option_twice_is_a_usage_error(access_repo: Repo) -> None:
    result = CliRunner().invoke(
        main, ["--repo", str(access_repo.path), "list", "--repo", str(access_repo.path)]
    )
    assert result.exit_code == 2
    assert "--repo is given twice" in result.stderr


def test_an_option_value_that_looks_global_stays_with_its_option(access_repo: Repo) -> None:
    """`--reason --now` is a reason, not the global --now: nothing is hoisted from a value."""
    from controller.cli.app import hoist_global_options

    args = ["request", "x", "--reason", "--now", "--for", "1h", "--now", NOW]
    assert hoist_global_options(args, main.command_named) == [
        "--now", NOW, "request", "x", "--reason", "--now", "--for", "1h",
    ]  # fmt: skip


def test_check_files_on_disk(access_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """`jitctl check FILE...` judges the working copy (pre-commit), by the catalog at HEAD."""
    grants = access_repo.path / "grants"
    (grants / "good.hcl").write_text(grant_text())
    (grants / "bad.hcl").write_text(grant_text(entitlement="nope"))
    (grants / "link.hcl").symlink_to("good.hcl")
    monkeypatch.chdir(access_repo.path)
    code, out, _ = run(access_repo, "check", "grants/good.hcl")
    assert code == 0, out
    code, out, _ = run(
        access_repo, "check", "grants/good.hcl", "grants/bad.hcl", "--format", "json"
    )
    assert code == 1
    assert [(f["file"], f["rule"]) for f in json.loads(out)["findings"]] == [
        ("grants/bad.hcl", "entitlement.unknown")
    ]
    code, out, _ = run(access_repo, "check", "grants/link.hcl", "--format", "json")
    assert code == 1 and "grant.symlink" in out
    os.mkfifo(grants / "fifo.hcl")  # must not hang
    code, _, err = run(access_repo, "check", "grants/fifo.hcl")
    assert code == 2 and "not a regular file" in err
    code, _, err = run(access_repo, "check", "/etc/hostname")
    assert code == 2 and "not inside the repository" in err
    code, _, err = run(access_repo, "check", "grants/good.hcl", "--base", "main")
    assert code == 2 and "not both" in err


def test_check_files_on_disk_judges_an_open_request_as_if_merged_now(
    access_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `jitctl request` writes into the work tree (a duration, no expires_at) passes the
    pre-commit check; the same file on a branch never counts as a grant."""
    monkeypatch.chdir(access_repo.path)
    code, out, err = run(
        access_repo, "request", "aws-prod-readonly", "--for", "13h", "--reason", "x", "--as",
        "alice", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    path = json.loads(out)["path"]
    code, out, _ = run(access_repo, "check", path, "--format", "json")
    assert code == 0, out
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["duration.capped"]
    access_repo.git("add", path)
    access_repo.git("commit", "-qm", "by hand")
    code, out, _ = run(access_repo, "check", "--format", "json")
    assert code == 1 and "grant.unmaterialised" in out


def test_pre_commit_hooks_run_real_commands(
    access_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hook in .pre-commit-hooks.yaml, run as pre-commit would (entry + matching files)."""
    import re
    import shlex

    import yaml

    from tests.factories import ROOT

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"jitctl-fmt", "jitctl-check", "jitctl-lint"}
    (access_repo.path / "grants" / "bad.hcl").write_text(grant_text(entitlement="nope"))
    messy = access_repo.path / "grants" / "messy.hcl"
    messy.write_text(grant_text().replace(" = ", "="))
    monkeypatch.chdir(access_repo.path)
    for hook, files, expected in [
        ("jitctl-fmt", ["grants/messy.hcl"], 0),
        ("jitctl-check", ["grants/bad.hcl"], 1),
        ("jitctl-lint", ["catalog.yaml"], 0),
    ]:
        h = hooks[hook]
        assert all(re.search(h["files"], f) for f in files)
        argv = shlex.split(h["entry"])
        assert argv[0] == "jitctl"
        result = CliRunner().invoke(main, [*argv[1:], *files])
        assert result.exit_code == expected, (hook, result.output)
    assert messy.read_text() == (
        "grant {\n"
        '  principal   = "alice@example.com"\n'
        '  entitlement = "aws-prod-readonly"\n'
        '  expires_at  = "2026-11-24T16:00:00Z"\n'
        '  reason      = "INC-1: debugging"\n'
        "}\n"
    )


def test_indented_json_in_pieces_is_the_one_piece_text() -> None:
    """check --format json writes findings 2,000 at a time: the text is json.dumps(indent=2)'s
    of the whole document (UTF-8, non-ASCII characters as themselves)."""
    from controller.cli.output import indented_json

    head = {"ok": True, "kind": "none", "needs_approval": False, "approval_rules": []}
    for n in (0, 1, 1999, 2000, 2001, 4501):
        items = [
            {"rule": f"r{i}", "line": i or None, "message": "caf\u00e9 \u2028"} for i in range(n)
        ]
        whole = json.dumps({**head, "findings": items}, indent=2, ensure_ascii=False)
        assert "".join(indented_json(head, "findings", iter(items))) == whole, n
    huge = [{"n": 2**70}]
    text = "".join(indented_json(head, "findings", huge))
    assert text == json.dumps({**head, "findings": huge}, indent=2)


def test_check_every_grant_writes_overlaps_as_before(access_repo: Repo) -> None:
    """``check`` of every grant makes the overlap warnings only as it writes them: the text is
    still json.dumps(indent=2)'s of every finding, file findings first, then each principal and
    entitlement's overlaps in that order, each naming every other grant of its group."""
    alice = {f"grants/a{i}.hcl": grant_text() for i in (3, 1, 2)}
    access_repo.commit(
        {
            **alice,
            "grants/b1.hcl": grant_text(principal="bob@example.com"),
            "grants/b2.hcl": grant_text(principal="bob@example.com"),
            "grants/b3.hcl": grant_text(principal="bob@example.com", expires_at=NOW),
            "grants/c.hcl": grant_text(principal="carol@example.com", reason=""),
        },
        "granted",
    )

    def overlap(path: str, who: str, others: str) -> dict[str, object]:
        message = f"{who}@example.com also holds aws-prod-readonly through {others}"
        return {
            "rule": "grant.overlap",
            "file": path,
            "line": 2,
            "message": message,
            "severity": "warning",
        }

    expired = "expired at 2026-11-24T12:00:00Z; `jitctl expire` removes it"
    findings = [
        {"rule": "grant.expired", "file": "grants/b3.hcl", "line": 4, "message": expired,
         "severity": "warning"},
        {"rule": "reason.empty", "file": "grants/c.hcl", "line": 5, "message": "reason is empty",
         "severity": "error"},
        overlap("grants/a1.hcl", "alice", "grants/a2.hcl, grants/a3.hcl"),
        overlap("grants/a2.hcl", "alice", "grants/a1.hcl, grants/a3.hcl"),
        overlap("grants/a3.hcl", "alice", "grants/a1.hcl, grants/a2.hcl"),
        overlap("grants/b1.hcl", "bob", "grants/b2.hcl"),
        overlap("grants/b2.hcl", "bob", "grants/b1.hcl"),
    ]  # fmt: skip
    head = {"ok": False, "kind": "none", "needs_approval": False, "approval_rules": []}
    code, out, _ = run(access_repo, "check", "--format", "json")
    assert (code, out) == (1, json.dumps({**head, "findings": findings}, indent=2) + "\n")
    code, out, _ = run(access_repo, "check")
    assert code == 1
    assert out.splitlines() == [
        *(f"{f['file']}:{f['line']}: {f['severity']} [{f['rule']}] {f['message']}"
          for f in findings),
        "grants have errors",
    ]  # fmt: skip

    # Overlaps alone are warnings: ok, exit 0.
    access_repo.commit({"grants/c.hcl": None, "grants/b3.hcl": None}, "fixed")
    code, out, _ = run(access_repo, "check", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True
    assert [f["file"] for f in data["findings"]] == [f"grants/{n}.hcl" for n in
                                                     ("a1", "a2", "a3", "b1", "b2")]  # fmt: skip
