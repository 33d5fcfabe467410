"""Drift through a real `terraform plan` + `terraform show -json`: a stand-in root module shaped
like terraform/main.tf (module.aws_iam_role["<grant id>"], built-in terraform_data resources, so
no provider is downloaded), applied, then changed behind git's back."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from controller.cli import main
from tests.infra.conftest import run
from tests.webhook import Webhook

MODULE = """
variable "grant" { type = object({ principal = string, expires_at = string }) }
resource "terraform_data" "role" { input = var.grant }
"""
ROOT_MODULE = """
variable "grants" { type = map(object({ principal = string, expires_at = string })) }
module "aws_iam_role" {
  source   = "./role"
  for_each = var.grants
  grant    = each.value
}
"""


def render(path: Path, grants: dict[str, str]) -> Path:
    doc = {
        "jitctl_render_version": 1,
        "now": "2026-11-24T12:00:00Z",
        "grants": {
            g: {"principal": p, "expires_at": "2026-11-24T16:00:00Z"} for g, p in grants.items()
        },
    }
    path.write_text(json.dumps(doc))
    return path


def tf(terraform: str, cwd: Path, *args: str) -> str:
    r = run([terraform, *args], cwd=cwd, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def plan_json(terraform: str, cwd: Path, render_file: Path) -> Path:
    vars_file = cwd / "vars.json"
    vars_file.write_text(json.dumps({"grants": json.loads(render_file.read_text())["grants"]}))
    tf(terraform, cwd, "plan", "-input=false", "-no-color", f"-var-file={vars_file}", "-out=plan")
    out = cwd / "plan.json"
    out.write_text(tf(terraform, cwd, "show", "-json", "plan"))
    return out


def drift(tmp: Path, plan: Path, render_file: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main,
        ["--repo", str(tmp), "--now", "2026-11-24T12:30:00Z", "drift", "--plan", str(plan),
         "--render", str(render_file), "--format", "json"],
        env=env,
    )  # fmt: skip
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout)


def test_drift_on_a_real_plan(terraform: str, tmp_path: Path, webhook: Webhook) -> None:
    work = tmp_path / "tf"
    (work / "role").mkdir(parents=True)
    (work / "role" / "main.tf").write_text(MODULE)
    (work / "main.tf").write_text(ROOT_MODULE)
    tf(terraform, work, "init", "-input=false", "-no-color")
    applied = render(tmp_path / "r1.json", {"alice-ro": "alice@example.com", "bob-ro": "bob@x"})
    vars_file = work / "vars.json"
    vars_file.write_text(json.dumps({"grants": json.loads(applied.read_text())["grants"]}))
    tf(terraform, work, "apply", "-input=false", "-no-color", "-auto-approve",
       f"-var-file={vars_file}")  # fmt: skip

    # the hourly run: bob's grant expired (no longer rendered): removing it is explained
    later = render(tmp_path / "r2.json", {"alice-ro": "alice@example.com"})
    code, out = drift(tmp_path, plan_json(terraform, work, later), later)
    assert (code, out) == (0, {"drift": [], "explained": 1})

    # someone removes alice's role by hand: the plan recreates it, which no grant explains
    tf(terraform, work, "state", "rm", 'module.aws_iam_role["alice-ro"].terraform_data.role')
    repo = tmp_path / "repo"
    run(["git", "init", "-q", str(repo)])
    hooks = "version: 1\nnotify:\n  - url: " + webhook.url + "/jit\n"
    (repo / "catalog.yaml").write_text(
        (Path(__file__).resolve().parents[2] / "catalog.yaml").read_text() + hooks.split("\n", 1)[1]
    )
    run(["git", "-C", str(repo), "add", "catalog.yaml"])
    run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "c"])
    code, out = drift(repo, plan_json(terraform, work, later), later)
    assert code == 1
    assert out["drift"] == [
        {
            "address": 'module.aws_iam_role["alice-ro"].terraform_data.role',
            "grant": "alice-ro",
            "kind": "added",
        }
    ]
    [body] = webhook.bodies("/jit")
    assert body["event"] == "drift" and body["grant"] == ""
