"""Catalog lint: table-driven over small catalogs (loaded by the real loader), and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.core.lint import lint_catalog
from controller.core.model import Severity
from controller.formats.catalog import load_catalog
from tests.factories import EXAMPLE_CATALOG_TEXT

HEAD = """version: 1
identities: {alice: [alice@example.com], bob: [bob@example.com], carol: [carol@example.com]}
teams: {"@acme/sre": [bob, carol]}
entitlements:
  e:
    description: d
    module: gcp-iam
    target: {project: p, role: roles/viewer}
"""


def rules(body: str) -> list[tuple[str, str]]:
    cat = load_catalog(HEAD + body)
    return [(f.rule, f.severity.value) for f in lint_catalog(cat)]


CASES = [
    ("    approvers: ['@acme/sre']\n", []),
    # a team defined nowhere: GitHub may know it, so a warning
    (
        "    approvers: ['@acme/sec']\n",
        [("catalog.team-undefined", "warning")],
    ),
    # a login with no identity (a typo silently removes an approver)
    ("    approvers: [carlo]\n", [("catalog.login-unknown", "warning")]),
    # two approvals from a team of two: the team's members can never be approved themselves
    (
        "    approvers: ['@acme/sre']\n    min_approvals: 2\n",
        [("catalog.requester-unapprovable", "warning")],
    ),
    # three from a team of two
    (
        "    approvers: ['@acme/sre']\n    min_approvals: 3\n",
        [("catalog.entitlement-unapprovable", "error"), ("catalog.rule-unsatisfiable", "error")],
    ),
    # AND across rules, one person one slot: bob cannot fill both
    (
        "    approvals: [{from: [bob], count: 1}, {from: [bob, '@acme/sre'], count: 2}]\n",
        [("catalog.entitlement-unapprovable", "error")],
    ),
    # only the approver may request: never approvable
    (
        "    approvers: [carol]\n    requesters: [carol]\n",
        [("catalog.entitlement-unapprovable", "error")],
    ),
    # requesters with no identity
    (
        "    approvers: [carol]\n    requesters: [zed]\n",
        [
            ("catalog.entitlement-unrequestable", "error"),
            ("catalog.login-unknown", "warning"),
        ],
    ),
    # logins compare case-insensitively, as on GitHub
    ("    approvers: [Carol]\n    requesters: [ALICE]\n", []),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_lint_rules(body: str, expected: list[tuple[str, str]]) -> None:
    assert rules(body) == expected


def test_example_catalog_lints_without_errors() -> None:
    findings = lint_catalog(load_catalog(EXAMPLE_CATALOG_TEXT))
    assert not [f for f in findings if f.severity is Severity.ERROR]
    # the one honest warning: azure-prod-contributor needs both SREs
    assert [f.rule for f in findings] == ["catalog.requester-unapprovable"]
    assert "carol, dave" in findings[0].message


def test_lint_cli(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text(HEAD + "    approvers: ['@acme/sre']\n    min_approvals: 3\n")
    result = CliRunner().invoke(main, ["lint", str(bad), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert {f["rule"] for f in data["findings"]} == {
        "catalog.rule-unsatisfiable",
        "catalog.entitlement-unapprovable",
    }
    good = tmp_path / "good.yaml"
    good.write_text(HEAD + "    approvers: ['@acme/sre']\n")
    result = CliRunner().invoke(main, ["lint", str(good)])
    assert result.exit_code == 0 and "ok" in result.stdout
    # malformed: the loader's error, exit 2, with the file and line
    broken = tmp_path / "broken.yaml"
    broken.write_text(HEAD + "    approvers: ['@acme/sre']\n    aprovers: [x]\n")
    result = CliRunner().invoke(main, ["lint", str(broken)])
    assert result.exit_code == 2
    assert "broken.yaml:10" in result.stderr and "catalog." in result.stderr


def test_lint_defaults_to_the_repositorys_catalog(access_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (access_repo.path / "catalog.yaml").write_text(
        HEAD + "    approvers: [carol]\n    requesters: [carol]\n"
    )
    monkeypatch.chdir(access_repo.path / "grants")
    result = CliRunner().invoke(main, ["lint"])
    assert result.exit_code == 1
    assert "[catalog.entitlement-unapprovable] e: no request" in result.stdout
