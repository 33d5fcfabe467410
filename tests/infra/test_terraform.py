"""Terraform: formatting, `terraform test` in every module that can initialise here, checkov.

Modules that declare a cloud provider (aws-iam-role, gcp-iam, azure-pim, and the root in
terraform/) cannot `terraform init` here (no provider downloads), so `terraform validate` is
impossible for them; they are covered by fmt, checkov, and the tests of the provider-free
submodules they call (window/, condition/, schedule/, and the dispatcher grants/).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, find_tool, run, tool_env

PROVIDER_FREE = [
    "modules/aws-iam-role/window",
    "modules/aws-identity-center/window",
    "modules/gcp-iam/condition",
    "modules/azure-pim/schedule",
    "modules/grants",
]
WITH_PROVIDERS = [
    "modules/aws-iam-role",
    "modules/aws-identity-center",
    "modules/gcp-iam",
    "modules/azure-pim",
    "terraform",
]


def _tracked_and_untracked() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "modules", "terraform"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_fmt(terraform: str) -> None:
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", "modules/"])
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", "terraform/"])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", PROVIDER_FREE)
def test_module_tests(terraform: str, module: str, tmp_path: Path) -> None:
    before = _tracked_and_untracked()
    env = {**tool_env(), "TF_DATA_DIR": str(tmp_path / "tfdata")}
    init = run(
        [terraform, "init", "-input=false", "-backend=false", "-no-color"],
        cwd=ROOT / module,
        env=env,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    test = run([terraform, "test", "-no-color"], cwd=ROOT / module, env=env)
    assert test.returncode == 0, test.stdout + test.stderr
    assert re.search(r"Success! \d+ passed, 0 failed", test.stdout), test.stdout
    assert _tracked_and_untracked() == before, "terraform left files in the tree"


@pytest.mark.parametrize("module", PROVIDER_FREE)
def test_provider_free_parts_declare_no_provider(module: str) -> None:
    text = "".join(p.read_text() for p in (ROOT / module).glob("*.tf"))
    assert "required_providers" not in text and not re.search(
        r'^\s*(provider|resource|data)\s+"', text, re.M
    )


@pytest.mark.parametrize("module", [*PROVIDER_FREE, *WITH_PROVIDERS])
def test_module_layout_and_variables(module: str) -> None:
    d = ROOT / module
    if module != "terraform":
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (d / name).is_file(), f"{module}/{name}"
    versions = (d / "versions.tf").read_text()
    assert re.search(r'required_version = ">= 1\.1[0-9]"', versions)
    variables = (d / "variables.tf").read_text()
    blocks = re.split(r'^variable "', variables, flags=re.M)[1:]
    assert blocks
    for block in blocks:
        name = block.split('"', 1)[0]
        assert re.search(r"^\s+type\s+=", block, re.M), f"{module}: variable {name} has no type"
        assert re.search(r"^\s+description\s+=", block, re.M), (
            f"{module}: variable {name} has no description"
        )


@pytest.mark.parametrize(
    "module",
    [
        "modules/aws-iam-role",
        "modules/aws-identity-center",
        "modules/gcp-iam",
        "modules/azure-pim",
        "modules/grants",
    ],
)
def test_module_readme_documents_inputs_and_outputs(module: str) -> None:
    readme = (ROOT / module / "README.md").read_text()
    assert "## Inputs" in readme and "## Outputs" in readme
    variables = re.findall(
        r'^variable "([^"]+)"', (ROOT / module / "variables.tf").read_text(), re.M
    )
    outputs = re.findall(r'^output "([^"]+)"', (ROOT / module / "outputs.tf").read_text(), re.M)
    for name in [*variables, *outputs]:
        assert f"`{name}`" in readme, f"{module}/README.md does not document {name}"


def test_every_variable_is_validated() -> None:
    """Every variable of every module, and of the root, carries a validation block."""
    for path in [
        *sorted(ROOT.glob("modules/**/variables.tf")),
        ROOT / "terraform" / "variables.tf",
    ]:
        text = path.read_text()
        for block in re.split(r'^variable "', text, flags=re.M)[1:]:
            name = block.split('"', 1)[0]
            body = block.split("\n}\n", 1)[0]
            assert "validation {" in body, (
                f"{path.relative_to(ROOT)}: variable {name} has no validation"
            )


def test_checkov_finds_nothing_and_every_skip_has_a_reason() -> None:
    checkov = find_tool("checkov", ROOT / ".tools" / "checkov-venv" / "bin" / "checkov")
    for tf in sorted(ROOT.glob("modules/**/*.tf")) + sorted(ROOT.glob("terraform/*.tf")):
        for skip in re.findall(r"checkov:skip=\S*", tf.read_text()):
            assert re.match(r"checkov:skip=CKV2?_[A-Z0-9_]+:\S", skip), (
                f"{tf}: {skip} needs a reason"
            )
    result = run(
        [
            checkov,
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "-d",
            "modules/",
            "-d",
            "terraform/",
        ],
        timeout=170,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # One JSON document per -d directory, concatenated.
    reports, text, pos = [], result.stdout.strip(), 0
    decoder = json.JSONDecoder()
    while pos < len(text):
        doc, pos = decoder.raw_decode(text, pos)
        reports += doc if isinstance(doc, list) else [doc]
        pos = len(text) - len(text[pos:].lstrip())
    summaries = [r["summary"] for r in reports if "summary" in r]
    assert summaries, result.stdout[:2000]
    assert len(summaries) == 2, "one report for modules/, one for terraform/"
    assert sum(s["failed"] for s in summaries) == 0
    unparsed = [f for r in reports for f in r.get("results", {}).get("parsing_errors", [])]
    assert sum(s["parsing_errors"] for s in summaries) == 0, unparsed
    assert sum(s["passed"] for s in summaries) > 0
