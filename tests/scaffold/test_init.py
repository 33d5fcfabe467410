"""jitctl init: a new access repository that works with the local lifecycle at once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from controller import __version__
from controller.cli import main
from tests.gitutil import git_env

NOW = "2026-11-24T12:00:00Z"


def jitctl(*args: str, now: str = NOW) -> Result:
    return CliRunner().invoke(main, ["--now", now, *args], env=git_env())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    ("clouds", "modules"),
    [
        ("aws", {"aws-iam-role"}),
        ("gcp", {"gcp-iam"}),
        ("azure", {"azure-pim"}),
        ("azure,aws,gcp", {"aws-iam-role", "gcp-iam", "azure-pim"}),
    ],
)
def test_catalog_holds_only_the_clouds_asked_for(
    tmp_path: Path, clouds: str, modules: set[str]
) -> None:
    result = jitctl("init", str(tmp_path / "acc"), "--clouds", clouds)
    assert result.exit_code == 0, result.output
    catalog = yaml.safe_load((tmp_path / "acc" / "catalog.yaml").read_text())
    assert {e["module"] for e in catalog["entitlements"].values()} == modules
    lint = jitctl("--repo", str(tmp_path / "acc"), "lint", "--format", "json")
    assert lint.exit_code == 0 and json.loads(lint.stdout)["findings"] == []


def test_init_then_the_whole_local_lifecycle(tmp_path: Path) -> None:
    repo = tmp_path / "access"
    result = jitctl("init", str(repo), "--platform-team", "@acme/platform")
    assert result.exit_code == 0, result.output
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain") == ""
    tracked = set(git(repo, "ls-files").split())
    assert {
        ".github/CODEOWNERS",
        ".github/pull_request_template.md",
        ".github/jitctl/ruleset.json",
        ".github/jitctl/ruleset-expire.json",
        ".github/workflows/jit-check.yml",
        ".github/workflows/jit-merge.yml",
        ".github/workflows/jit-apply.yml",
        ".github/workflows/jit-expire.yml",
        ".gitignore",
        "README.md",
        "catalog.yaml",
        "grants/.gitkeep",
        "terraform/main.tf",
        "terraform/backend.hcl.example",
        "modules/grants/main.tf",
        "modules/aws-iam-role/main.tf",
    } <= tracked
    # no jitctl source, tests, tooling or npm in the scaffold; only what an access repo holds
    assert not any(p.endswith((".py", ".cjs", ".json")) and "ruleset" not in p for p in tracked)
    assert {p.split("/", 1)[0] for p in tracked} == {
        ".github", ".gitignore", "README.md", "catalog.yaml", "grants", "modules", "terraform"
    }  # fmt: skip
    codeowners = (repo / ".github/CODEOWNERS").read_text()
    assert "*         @acme/platform" in codeowners and "\n/grants/\n" in codeowners

    r = ["--repo", str(repo)]
    assert jitctl(*r, "check").exit_code == 0
    req = jitctl(
        *r, "request", "aws-prod-readonly", "--for", "2h", "--reason", "INC-1",
        "--as", "alice", "--local", "--format", "json",
    )  # fmt: skip
    assert req.exit_code == 0, req.output
    branch = json.loads(req.stdout)["branch"]
    merged = jitctl(*r, "merge", branch, "--local", "--approved-by", "bob")
    assert merged.exit_code == 0, merged.output
    listed = json.loads(jitctl(*r, "list", "--format", "json").stdout)["grants"]
    assert [g["state"] for g in listed] == ["active"]
    expired = jitctl(*r, "expire", "--local", "--format", "json", now="2026-11-24T14:00:00Z")
    assert expired.exit_code == 0, expired.output
    assert len(json.loads(expired.stdout)["removed"]) == 1
    audit = jitctl(*r, "audit", "--format", "jsonl", now="2026-11-24T15:00:00Z")
    # the scaffolded catalog names no audit.signers yet: jitctl's merge is unsigned, so the
    # audit cannot prove it (an error, exit 1), and that is its only finding
    assert audit.exit_code == 1, audit.output
    assert "audit.unproven: 1" in audit.stderr and "1 error(s), 0 warning(s)" in audit.stderr
    kinds = [json.loads(line)["event"] for line in audit.stdout.splitlines()]
    assert "granted" in kinds and "expired" in kinds


def test_init_refuses_a_folder_that_is_not_empty_and_is_idempotent(tmp_path: Path) -> None:
    repo = tmp_path / "access"
    repo.mkdir()
    (repo / "notes.txt").write_text("mine")
    result = jitctl("init", str(repo))
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert sorted(p.name for p in repo.iterdir()) == ["notes.txt"]

    assert jitctl("init", str(repo), "--force").exit_code == 0
    head = git(repo, "rev-parse", "HEAD")
    again = jitctl("init", str(repo), "--force", "--format", "json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["outcome"] == "unchanged"
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "notes.txt").read_text() == "mine"  # not the scaffold's: left alone
    assert "notes.txt" not in git(repo, "ls-files")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clouds", "aws,oracle"], "unknown cloud(s) oracle"),
        (["--clouds", ","], "name at least one"),
        (["--platform-team", "platform"], "is not a team written as @org/team"),
    ],
)
def test_init_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = jitctl("init", str(tmp_path / "x"), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "x").exists()


def test_init_never_writes_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "access"
    repo.mkdir()
    (repo / ".github").symlink_to(outside)
    result = jitctl("init", str(repo), "--force")
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert list(outside.iterdir()) == []


def test_the_audit_guidance_in_the_catalog_is_valid_once_uncommented(tmp_path: Path) -> None:
    from controller.formats.catalog import load_catalog

    repo = tmp_path / "access"
    assert jitctl("init", str(repo)).exit_code == 0
    text = (repo / "catalog.yaml").read_text()
    block = text.split("# audit:\n", 1)[1].split("\n\n", 1)[0]
    uncommented = text.replace(
        "# audit:\n" + block, "audit:\n" + "\n".join(line[2:] for line in block.splitlines())
    )
    audit = load_catalog(uncommented).audit
    assert audit.signers == ".github/jitctl/allowed_signers"
    assert audit.github_bots == ("jitctl[bot]",)


def test_upgrade_rewrites_jitctls_files_and_keeps_the_organisations(tmp_path: Path) -> None:
    repo = tmp_path / "access"
    assert jitctl("init", str(repo), "--action-repo", "acme/jitctl").exit_code == 0
    workflow = repo / ".github/workflows/jit-check.yml"
    planned = workflow.read_text()
    # what an older jitctl wrote, and the organisation's own edits since
    workflow.write_text(planned.replace(f"@v{__version__}", "@v0.1.0"))
    (repo / "modules/grants/retired.tf").write_text("# a file an older version vendored\n")
    (repo / "modules/acme-extra").mkdir()
    (repo / "modules/acme-extra/main.tf").write_text("# the organisation's own module\n")
    catalog = (repo / "catalog.yaml").read_text().replace("alice: [", "alice2: [")
    (repo / "catalog.yaml").write_text(catalog)
    (repo / ".github/CODEOWNERS").unlink()  # missing: written again
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "older jitctl, and our edits")

    git(repo, "checkout", "-qb", "upgrade-jitctl")
    up = jitctl("init", str(repo), "--upgrade", "--action-repo", "acme/jitctl", "--format", "json")
    assert up.exit_code == 0, up.output
    assert json.loads(up.stdout)["outcome"] == "upgraded"
    assert workflow.read_text() == planned
    assert (repo / "catalog.yaml").read_text() == catalog  # the organisation's, kept
    assert (repo / ".github/CODEOWNERS").is_file()
    assert not (repo / "modules/grants/retired.tf").exists()
    assert (repo / "modules/acme-extra/main.tf").is_file()  # not jitctl's: left alone
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-list", "--count", "main..HEAD").strip() == "1"
    again = jitctl(
        "init", str(repo), "--upgrade", "--action-repo", "acme/jitctl", "--format", "json"
    )
    assert json.loads(again.stdout)["outcome"] == "unchanged"
    # pinned by sha from now on: no zizmor exception is needed any more, so it goes
    sha = "0123456789abcdef0123456789abcdef01234567"
    pinned = jitctl(
        "init", str(repo), "--upgrade", "--action-repo", "acme/jitctl", "--action-ref", sha
    )
    assert pinned.exit_code == 0, pinned.output
    assert not (repo / ".github/zizmor.yml").exists()
    assert f"uses: acme/jitctl@{sha}" in workflow.read_text()
    assert (repo / "modules/acme-extra/main.tf").is_file()
    assert git(repo, "status", "--porcelain") == ""


def test_upgrade_refuses_what_is_not_an_access_repository_or_has_staged_changes(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = jitctl("init", str(plain), "--upgrade")
    assert result.exit_code == 2 and "not a git repository" in result.stderr
    repo = tmp_path / "access"
    assert jitctl("init", str(repo)).exit_code == 0
    (repo / "notes.txt").write_text("mine")
    git(repo, "add", "notes.txt")
    staged = jitctl("init", str(repo), "--upgrade")
    assert staged.exit_code == 2 and "changes are staged" in staged.stderr
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
