"""The plan summary (controller/formats/plan_summary.py) and `jitctl plan-summary`, which the
workflows run to summarise a plan by grant and render an untrusted summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.formats import plan_summary

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
    plan, out = str(tmp_path / "plan.json"), str(tmp_path / "s.json")
    run = CliRunner().invoke
    assert run(main, ["plan-summary", "summarize", plan, out]).exit_code == 0
    shown = run(main, ["plan-summary", "markdown", out])
    assert shown.exit_code == 0 and "1 added" in shown.stdout
    # an untrusted summary that is not exactly what summarize writes: one line, exit 2
    (tmp_path / "bad.json").write_text('{"version": 1}')
    bad = run(main, ["plan-summary", "markdown", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "bad.json: unexpected keys in plan summary" in bad.stderr
    (tmp_path / "junk.json").write_text("{")
    junk = run(main, ["plan-summary", "markdown", str(tmp_path / "junk.json")])
    assert junk.exit_code == 2 and "junk.json: not a JSON plan summary" in junk.stderr
    missing = run(main, ["plan-summary", "summarize", str(tmp_path / "nope.json"), out])
    assert missing.exit_code == 2 and "nope.json: cannot read the plan" in missing.stderr
