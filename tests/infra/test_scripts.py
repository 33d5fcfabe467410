"""The workflow helper scripts in .github/scripts/ (plan summary, overdue watchdog)."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT, run


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / ".github" / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan_summary = _load("plan_summary")
overdue = _load("overdue")

PLAN = {
    "resource_changes": [
        {
            "address": 'module.aws_iam_role["a-1"].aws_iam_role.grant',
            "change": {"actions": ["create"]},
        },
        {
            "address": 'module.aws_iam_role["a-1"].aws_iam_role_policy.window',
            "change": {"actions": ["create"]},
        },
        {
            "address": 'module.gcp_iam["g-1"].google_project_iam_member.grant',
            "change": {"actions": ["delete"]},
        },
        {
            "address": 'module.aws_iam_role["a-2"].aws_iam_role.grant',
            "change": {"actions": ["update"]},
        },
        {
            "address": 'module.aws_iam_role["a-2"].aws_iam_role_policy.window',
            "change": {"actions": ["no-op"]},
        },
        {
            "address": 'module.azure_pim["z-1"].azurerm_pim_active_role_assignment.grant',
            "change": {"actions": ["delete", "create"], "after": {"justification": "SECRET-ISH"}},
        },
        {"address": "module.grants.terraform_data.x", "change": {"actions": ["create"]}},
    ]
}


def test_summarize_groups_by_grant_without_values() -> None:
    summary = plan_summary.summarize(PLAN)
    assert summary == {
        "version": 1,
        "added": [{"grant": "a-1", "module": "aws_iam_role"}],
        "removed": [{"grant": "g-1", "module": "gcp_iam"}],
        "changed": [{"grant": "a-2", "module": "aws_iam_role"}],
        "replaced": [{"grant": "z-1", "module": "azure_pim"}],
    }
    assert "SECRET" not in json.dumps(summary)


def test_markdown() -> None:
    text = plan_summary.markdown(plan_summary.validate(plan_summary.summarize(PLAN)))
    assert "Grants: 1 added, 1 removed, 1 changed, 1 replaced." in text
    assert "- `a-1` (aws-iam-role)" in text


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"version": 2, "added": [], "removed": [], "changed": [], "replaced": []},
        {
            "version": 1,
            "added": [{"grant": "x`](http://evil)", "module": "gcp_iam"}],
            "removed": [],
            "changed": [],
            "replaced": [],
        },
        {
            "version": 1,
            "added": [{"grant": "a", "module": "shell"}],
            "removed": [],
            "changed": [],
            "replaced": [],
        },
        {"version": 1, "added": [], "removed": [], "changed": [], "replaced": [], "note": "hi"},
    ],
)
def test_untrusted_summary_is_validated(bad: object) -> None:
    with pytest.raises(ValueError):
        plan_summary.validate(bad)


def test_plan_summary_cli(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(PLAN))
    script = str(ROOT / ".github" / "scripts" / "plan_summary.py")
    assert (
        run(
            [
                sys.executable,
                script,
                "summarize",
                str(tmp_path / "plan.json"),
                str(tmp_path / "s.json"),
            ]
        ).returncode
        == 0
    )
    shown = run([sys.executable, script, "markdown", str(tmp_path / "s.json")])
    assert shown.returncode == 0 and "1 added" in shown.stdout
    (tmp_path / "bad.json").write_text('{"version": 1}')
    assert run([sys.executable, script, "markdown", str(tmp_path / "bad.json")]).returncode == 2


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "is_overdue"),
    [
        ("2026-11-24T11:30:00Z", True),  # exactly 30 minutes: overdue
        ("2026-11-24T11:30:01Z", False),
        ("2026-11-24T12:29:00+01:00", True),  # 11:29Z, with an offset
        ("2026-11-24T11:59:00Z", False),
    ],
)
def test_overdue(expires_at: str, is_overdue: bool) -> None:
    found = overdue.overdue([{"id": "g", "expires_at": expires_at}], NOW, timedelta(minutes=30))
    assert bool(found) is is_overdue


def test_overdue_accepts_an_object_with_grants_and_rejects_garbage() -> None:
    assert overdue.overdue({"grants": []}, NOW, timedelta(minutes=30)) == []
    with pytest.raises(ValueError):
        overdue.overdue({"x": 1}, NOW, timedelta(minutes=30))
    with pytest.raises(ValueError):
        overdue.overdue(
            [{"id": "g", "expires_at": "2026-11-24T11:00:00"}], NOW, timedelta(minutes=30)
        )


def test_overdue_cli(tmp_path: Path) -> None:
    listing = tmp_path / "l.json"
    listing.write_text(json.dumps([{"id": "old", "expires_at": "2026-11-24T10:00:00Z"}]))
    script = str(ROOT / ".github" / "scripts" / "overdue.py")
    result = run([sys.executable, script, str(listing), "--now", "2026-11-24T12:00:00Z"])
    assert result.returncode == 1
    assert "::error::grant old expired at 2026-11-24T10:00:00Z" in result.stdout
    listing.write_text("[]")
    assert (
        run([sys.executable, script, str(listing), "--now", "2026-11-24T12:00:00Z"]).returncode == 0
    )
