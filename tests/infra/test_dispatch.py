"""The render file -> the dispatcher, through a real `terraform plan` + `terraform show -json`.

The harness in tmp_path uses the ROOT configuration's own variables.tf (so the render schema is
checked against exactly what terraform/ declares) and calls modules/grants like terraform/main.tf
does; only the provider-using module calls are left out (they cannot init here).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT, run, tool_env

FIXTURE = ROOT / "tests" / "infra" / "fixtures" / "render.json"

HARNESS = """
module "grants" {
  source = "%s"
  now    = var.now
  grants = var.grants
}
output "aws_iam_role" { value = module.grants.aws_iam_role }
output "gcp_iam" { value = module.grants.gcp_iam }
output "azure_pim" { value = module.grants.azure_pim }
output "expired" { value = module.grants.expired }
output "pending" { value = module.grants.pending }
output "summary" { value = module.grants.summary }
output "aws_identity_center" { value = module.grants.aws_identity_center }
"""


def plan(terraform: str, tmp_path: Path, render: dict) -> tuple[int, str, dict]:
    work = tmp_path / "root"
    work.mkdir(exist_ok=True)
    shutil.copy(ROOT / "terraform" / "variables.tf", work / "variables.tf")
    # A relative path: an absolute one would make modules/grants its own package, and its
    # "../aws-iam-role/window" calls would then escape it.
    source = Path(os.path.relpath(ROOT / "modules" / "grants", work)).as_posix()
    (work / "main.tf").write_text(HARNESS % source)
    (work / "render.tfvars.json").write_text(json.dumps(render))
    env = {**tool_env(), "TF_DATA_DIR": str(tmp_path / "tfdata")}
    init = run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    result = run(
        [
            terraform,
            "plan",
            "-input=false",
            "-no-color",
            "-var-file=render.tfvars.json",
            "-out=plan",
        ],
        cwd=work,
        env=env,
    )
    if result.returncode != 0:
        return result.returncode, result.stdout + result.stderr, {}
    shown = run([terraform, "show", "-json", "plan"], cwd=work, env=env)
    assert shown.returncode == 0, shown.stderr
    outputs = json.loads(shown.stdout)["planned_values"]["outputs"]
    return 0, result.stdout, {k: v["value"] for k, v in outputs.items()}


@pytest.fixture(scope="module")
def dispatched(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    code, text, outputs = plan(
        terraform, tmp_path_factory.mktemp("dispatch"), json.loads(FIXTURE.read_text())
    )
    assert code == 0, text
    return outputs


def test_each_grant_reaches_its_module(dispatched: dict) -> None:
    assert sorted(dispatched["aws_iam_role"]) == [
        "alice-aws-prod-readonly-20261124t1200",
        "carol-aws-prod-admin-20261124t1800",
    ]
    assert sorted(dispatched["gcp_iam"]) == ["bob-gcp-prod-logs-viewer-20261124t1100"]
    assert [a["grant_ids"] for a in dispatched["azure_pim"].values()] == [
        ["alice-azure-prod-contributor-20261124t1130"]
    ]


def test_the_expired_grant_reaches_no_module(dispatched: dict) -> None:
    expired = "dave-gcp-prod-logs-viewer-20261123t0900"
    assert expired in json.loads(FIXTURE.read_text())["grants"]
    for module in ("aws_iam_role", "gcp_iam"):
        assert expired not in dispatched[module]
    assert all(expired not in a["grant_ids"] for a in dispatched["azure_pim"].values())
    assert dispatched["expired"] == [expired]
    assert dispatched["summary"] == {
        "aws_iam_role": 2,
        "aws_identity_center": 0,
        "gcp_iam": 1,
        "azure_pim": 1,
        "pending": 1,
        "expired": 1,
    }


def test_windows_on_each_cloud(dispatched: dict) -> None:
    aws = dispatched["aws_iam_role"]["alice-aws-prod-readonly-20261124t1200"]
    assert aws["window"] == {"start": None, "end": "2026-11-25T00:00:00Z"}
    assert aws["role_name"] == "jit-alice-aws-prod-readonly-20261124t1200"
    assert aws["max_session_duration"] == 3600
    assert aws["target"]["policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

    pending = dispatched["aws_iam_role"]["carol-aws-prod-admin-20261124t1800"]
    assert pending["window"] == {"start": "2026-11-24T18:00:00Z", "end": "2026-11-24T19:00:00Z"}
    assert dispatched["pending"] == ["carol-aws-prod-admin-20261124t1800"]

    gcp = dispatched["gcp_iam"]["bob-gcp-prod-logs-viewer-20261124t1100"]
    assert gcp["member"] == "user:bob@example.com"
    assert gcp["condition"]["expression"] == (
        'request.time >= timestamp("2026-11-24T11:00:00Z") && '
        'request.time < timestamp("2026-11-24T19:30:00Z")'
    )
    assert gcp["condition"]["title"] == "jitctl bob-gcp-prod-logs-viewer-20261124t1100"

    (azure,) = dispatched["azure_pim"].values()
    assert azure["schedule"] == {"start_date_time": None, "end_date_time": "2026-11-24T15:30:00Z"}
    assert azure["principal_id"] == "11111111-1111-4111-8111-111111111111"
    assert (
        azure["justification"]
        == "jitctl grant alice-azure-prod-contributor-20261124t1130: CHG-77: rotate storage keys"
    )


def test_all_expired_at_a_later_now(terraform: str, tmp_path: Path) -> None:
    render = json.loads(FIXTURE.read_text())
    render["now"] = "2026-11-25T00:00:00Z"  # the last grant's expires_at: expired at this instant
    code, text, out = plan(terraform, tmp_path, render)
    assert code == 0, text
    assert out["aws_iam_role"] == {} and out["gcp_iam"] == {} and out["azure_pim"] == {}
    assert len(out["expired"]) == len(render["grants"])


def test_unknown_render_version_is_refused(terraform: str, tmp_path: Path) -> None:
    render = json.loads(FIXTURE.read_text())
    render["jitctl_render_version"] = 2
    code, text, _ = plan(terraform, tmp_path, render)
    assert code != 0
    assert "jitctl_render_version 1" in " ".join(text.split())


def test_basic_gcp_role_is_refused_through_the_dispatcher(terraform: str, tmp_path: Path) -> None:
    render = json.loads(FIXTURE.read_text())
    render["grants"]["bob-gcp-prod-logs-viewer-20261124t1100"]["target"]["role"] = "roles/editor"
    code, text, _ = plan(terraform, tmp_path, render)
    assert code != 0
    assert "Basic roles" in text


def test_email_principal_for_azure_is_refused(terraform: str, tmp_path: Path) -> None:
    render = json.loads(FIXTURE.read_text())
    render["grants"]["alice-azure-prod-contributor-20261124t1130"]["principal"] = (
        "alice@example.com"
    )
    code, text, _ = plan(terraform, tmp_path, render)
    assert code != 0
    assert "Entra object id" in " ".join(text.split())


def test_missing_target_key_is_refused(terraform: str, tmp_path: Path) -> None:
    render = json.loads(FIXTURE.read_text())
    del render["grants"]["alice-aws-prod-readonly-20261124t1200"]["target"]["saml_provider_arn"]
    code, text, _ = plan(terraform, tmp_path, render)
    assert code != 0
    assert "saml_provider_arn" in text


def test_jitctl_render_feeds_the_dispatcher(terraform: str, tmp_path: Path) -> None:
    """End to end: grants committed in a real repository -> `jitctl render` -> the dispatcher."""
    from click.testing import CliRunner

    from controller.cli import main
    from controller.core.render import describe_cloud_condition
    from tests.factories import grant_text
    from tests.gitutil import new_access_repo

    (tmp_path / "repo").mkdir()
    repo = new_access_repo(tmp_path / "repo")
    repo.commit(
        {
            "grants/aws.hcl": grant_text(expires_at="2026-11-24T20:00:00Z"),
            "grants/gcp.hcl": grant_text(
                principal="bob@example.com",
                entitlement="gcp-prod-logs-viewer",
                starts_at="2026-11-24T11:00:00Z",
                expires_at="2026-11-24T19:30:00Z",
            ),
            "grants/azure.hcl": grant_text(
                principal="11111111-1111-4111-8111-111111111111",
                entitlement="azure-prod-contributor",
                expires_at="2026-11-24T15:30:00Z",
            ),
            "grants/later.hcl": grant_text(
                starts_at="2026-11-24T18:00:00Z", expires_at="2026-11-24T19:00:00Z"
            ),
            "grants/gone.hcl": grant_text(expires_at="2026-11-24T12:00:00Z"),
        }
    )
    out = tmp_path / "grants.auto.tfvars.json"
    result = CliRunner().invoke(
        main,
        ["--repo", str(repo.path), "--now", "2026-11-24T12:00:00Z", "render", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    render = json.loads(out.read_text())
    (tmp_path / "tf").mkdir()
    code, text, got = plan(terraform, tmp_path / "tf", render)
    assert code == 0, text
    assert sorted(got["aws_iam_role"]) == ["aws", "later"]
    assert sorted(got["gcp_iam"]) == ["gcp"]
    assert [a["grant_ids"] for a in got["azure_pim"].values()] == [["azure"]]
    assert got["pending"] == ["later"]
    assert got["expired"] == []  # render already left "gone" out: it reaches no module
    assert all("gone" not in got[m] for m in ("aws_iam_role", "gcp_iam"))
    assert got["aws_iam_role"]["aws"]["window"] == {"start": None, "end": "2026-11-24T20:00:00Z"}
    assert got["aws_iam_role"]["later"]["window"] == {
        "start": "2026-11-24T18:00:00Z",
        "end": "2026-11-24T19:00:00Z",
    }
    assert next(iter(got["azure_pim"].values()))["schedule"] == {
        "start_date_time": None,
        "end_date_time": "2026-11-24T15:30:00Z",
    }
    expression = got["gcp_iam"]["gcp"]["condition"]["expression"]
    # what `jitctl demo` tells a newcomer is what the module really builds
    assert describe_cloud_condition(render["grants"]["gcp"]) == f"GCP: IAM Condition {expression}"


def test_each_stack_input_plans_alone(terraform: str, tmp_path: Path) -> None:
    """`jitctl render --stacks-dir`: every stack's file is a complete root input on its own."""
    from click.testing import CliRunner

    from controller.cli import main
    from tests.factories import grant_text
    from tests.gitutil import new_access_repo

    (tmp_path / "repo").mkdir()
    repo = new_access_repo(tmp_path / "repo")
    repo.commit(
        {
            "grants/aws.hcl": grant_text(expires_at="2026-11-24T20:00:00Z"),
            "grants/gcp.hcl": grant_text(
                principal="bob@example.com", entitlement="gcp-prod-logs-viewer"
            ),
        }
    )
    stacks = tmp_path / "stacks"
    result = CliRunner().invoke(
        main,
        [
            "--repo",
            str(repo.path),
            "--now",
            "2026-11-24T12:00:00Z",
            "render",
            "--stacks-dir",
            str(stacks),
        ],
    )
    assert result.exit_code == 0, result.output
    planned: dict[str, list[str]] = {}
    for path in sorted(stacks.glob("*.tfvars.json")):
        (tmp_path / path.stem).mkdir()
        code, text, got = plan(terraform, tmp_path / path.stem, json.loads(path.read_text()))
        assert code == 0, text
        planned[path.name.split(".")[0]] = sorted(got["aws_iam_role"]) + sorted(got["gcp_iam"])
    assert planned == {
        "aws-123456789012": ["aws"],
        "azure-00000000-0000-4000-8000-000000000000": [],
        "gcp-acme-prod": ["gcp"],
    }
