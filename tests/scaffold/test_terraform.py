"""The access repository's Terraform: this repository's root and modules for the clouds asked
only, `terraform fmt` and `terraform test` in the scaffold for every cloud choice, and two AWS
accounts as two stacks planned through the scaffold's own root variables and dispatcher."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from controller.cli import main
from controller.scaffold import Options, plan
from tests.gitutil import git_env
from tests.infra.conftest import find_tool, run, tool_env

NOW = "2026-11-24T12:00:00Z"
CHOICES = ["aws", "gcp", "azure", "aws,gcp,azure"]
PROVIDER = {"aws": "aws", "gcp": "google", "azure": "azurerm"}
CALLS = {"aws": {"aws_iam_role", "aws_identity_center"}, "gcp": {"gcp_iam"}, "azure": {"azure_pim"}}
PROVIDER_FREE = [
    "modules/grants",
    "modules/aws-iam-role/window",
    "modules/aws-identity-center/window",
    "modules/gcp-iam/condition",
    "modules/azure-pim/schedule",
]


@pytest.fixture(scope="session")
def terraform() -> str:
    return find_tool("terraform")


def jitctl(*args: str, now: str = NOW) -> Result:
    return CliRunner().invoke(main, ["--now", now, *args], env=git_env())


@pytest.mark.parametrize("choice", CHOICES)
def test_root_holds_the_clouds_asked_only(choice: str) -> None:
    clouds = choice.split(",")
    files = plan(Options(clouds=tuple(clouds)))
    tf = "".join(v for k, v in files.items() if k.startswith("terraform/") and k.endswith(".tf"))
    assert set(re.findall(r'^provider "(\w+)"', tf, re.M)) == {PROVIDER[c] for c in clouds}
    required = re.search(r"required_providers \{(.*?)\n  \}", tf, re.S)
    assert required
    assert set(re.findall(r"^    (\w+) = \{", required.group(1), re.M)) == {
        PROVIDER[c] for c in clouds
    }
    calls = set(re.findall(r'^module "(\w+)"', files["terraform/main.tf"], re.M))
    assert calls == {"grants"} | {m for c in clouds for m in CALLS[c]}
    # every module a call names is vendored, and no provider module of another cloud is
    for source in re.findall(r'source\s+= "\.\./(modules/[^"]+)"', files["terraform/main.tf"]):
        assert f"{source}/main.tf" in files
    vendored = {k.split("/")[1] for k in files if k.startswith("modules/") and k.count("/") == 2}
    assert vendored == {"grants"} | {m.replace("_", "-") for c in clouds for m in CALLS[c]}
    # a grant for a module this root does not call fails the plan (never silently unapplied)
    modules = re.search(r"contains\(\[(.*?)\], g\.module\)", files["terraform/variables.tf"])
    assert modules
    assert set(re.findall(r'"([a-z-]+)"', modules.group(1))) == {
        m.replace("_", "-") for c in clouds for m in CALLS[c]
    }
    # the outputs read only the module calls that remain
    for ref in re.findall(r"module\.(\w+)\.", files["terraform/outputs.tf"]):
        assert ref in calls


@pytest.fixture(scope="module", params=CHOICES)
def scaffold(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("tf") / "access"
    result = jitctl("init", str(dest), "--clouds", request.param, "--action-repo", "acme/jitctl")
    assert result.exit_code == 0, result.output
    return dest


def test_terraform_fmt(scaffold: Path, terraform: str) -> None:
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", "."], cwd=scaffold)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", PROVIDER_FREE)
def test_terraform_test(scaffold: Path, terraform: str, module: str, tmp_path: Path) -> None:
    env = {**tool_env(), "TF_DATA_DIR": str(tmp_path / "tfdata")}
    init = run(
        [terraform, "init", "-input=false", "-backend=false", "-no-color"],
        cwd=scaffold / module,
        env=env,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    test = run([terraform, "test", "-no-color"], cwd=scaffold / module, env=env)
    assert test.returncode == 0, test.stdout + test.stderr
    assert re.search(r"Success! [1-9]\d* passed, 0 failed", test.stdout), test.stdout


HARNESS = """
module "grants" {
  source = "../modules/grants"
  now    = var.now
  grants = var.grants
}
output "aws_iam_role" { value = module.grants.aws_iam_role }
output "gcp_iam" { value = module.grants.gcp_iam }
"""


def _plan(terraform: str, repo: Path, render: Path, tmp_path: Path) -> tuple[int, str, dict]:
    """Plan a render file with the scaffold's own root variables.tf and dispatcher; the
    provider-using module calls are left out (they cannot initialise offline)."""
    work = repo / "harness"
    work.mkdir(exist_ok=True)
    (work / "variables.tf").write_text((repo / "terraform" / "variables.tf").read_text())
    (work / "main.tf").write_text(HARNESS)
    env = {**tool_env(), "TF_DATA_DIR": str(tmp_path / "tfdata")}
    init = run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    out = tmp_path / f"{render.stem}.plan"
    result = run(
        [terraform, "plan", "-input=false", "-no-color", f"-var-file={render}", f"-out={out}"],
        cwd=work,
        env=env,
    )
    if result.returncode:
        return result.returncode, result.stdout + result.stderr, {}
    shown = run([terraform, "show", "-json", str(out)], cwd=work, env=env)
    outputs = json.loads(shown.stdout)["planned_values"]["outputs"]
    return 0, result.stdout, {k: v["value"] for k, v in outputs.items()}


def test_two_aws_accounts_are_two_stacks(terraform: str, tmp_path: Path) -> None:
    a, b = "111111111111", "222222222222"
    repo = tmp_path / "access"
    made = jitctl("init", str(repo), "--action-repo", "acme/jitctl", "--aws-accounts", f"{a},{b}")
    assert made.exit_code == 0, made.output
    r = ["--repo", str(repo)]
    assert jitctl(*r, "check").exit_code == 0
    for account, who in ((a, "alice"), (b, "carol")):
        req = jitctl(
            *r, "request", f"aws-readonly-{account}", "--for", "2h", "--reason", "INC-1",
            "--as", who, "--local", "--format", "json",
        )  # fmt: skip
        assert req.exit_code == 0, req.output
        branch = json.loads(req.stdout)["branch"]
        merged = jitctl(*r, "merge", branch, "--local", "--approved-by", "bob")
        assert merged.exit_code == 0, merged.output
    stacks = tmp_path / "stacks"
    rendered = jitctl(*r, "render", "--stacks-dir", str(stacks))
    assert rendered.exit_code == 0, rendered.output
    files = sorted(p.name for p in stacks.glob("*.tfvars.json"))
    assert files == [f"aws-{a}.tfvars.json", f"aws-{b}.tfvars.json"]
    for account, who in ((a, "alice"), (b, "carol")):
        code, text, out = _plan(terraform, repo, stacks / f"aws-{account}.tfvars.json", tmp_path)
        assert code == 0, text
        (grant,) = out["aws_iam_role"].values()  # this account's grant, and only it
        assert grant["target"]["account_id"] == account
        assert grant["principal"] == f"{who}@example.com"
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout.strip() == "?? harness/"  # the plans wrote nothing into the scaffold


def test_attack_a_grant_for_a_cloud_the_root_lacks_fails_the_plan(
    terraform: str, tmp_path: Path
) -> None:
    """A render for a gcp-iam grant reaching an AWS-only root (a catalog edited to name a module
    the root does not call) fails the plan: it is never silently left unapplied."""
    repo = tmp_path / "access"
    assert jitctl("init", str(repo), "--clouds", "aws").exit_code == 0
    render = tmp_path / "render.tfvars.json"
    render.write_text(
        json.dumps(
            {
                "jitctl_render_version": 1,
                "now": NOW,
                "grants": {
                    "bob-gcp-x-20261124t1100": {
                        "principal": "bob@example.com",
                        "entitlement": "gcp-x",
                        "module": "gcp-iam",
                        "target": {"project": "acme-prod", "role": "roles/logging.viewer"},
                        "starts_at": None,
                        "expires_at": "2026-11-24T19:30:00Z",
                        "reason": "r",
                        "ticket": None,
                    }
                },
            }
        )
    )
    code, text, _ = _plan(terraform, repo, render, tmp_path)
    assert code != 0
    assert "must be one of aws-iam-role, aws-identity-center" in " ".join(text.split())
