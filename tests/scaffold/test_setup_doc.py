"""docs/github-setup.md stays true to the code: it starts from `jitctl init` (and its commands
run), names every repository variable the scaffold's workflows read, covers the state backend,
and ends with `jitctl doctor`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from controller.cli import main
from controller.scaffold import Options, plan
from tests.factories import ROOT
from tests.gitutil import git_env

DOC = (ROOT / "docs" / "github-setup.md").read_text("utf-8")
SECTIONS = re.split(r"^## ", DOC, flags=re.M)[1:]


def _sh_lines(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_the_guide_starts_from_init_and_ends_with_doctor() -> None:
    assert SECTIONS[0].startswith("0. Create it with `jitctl init`")
    assert _sh_lines(SECTIONS[0])[0].startswith("jitctl init ")
    assert "jitctl doctor" in SECTIONS[-1].splitlines()[0]
    (doctor,) = [line for line in _sh_lines(SECTIONS[-1]) if "jitctl doctor" in line]
    # the variables it sets are the ones the GitHub adapter reads
    forge = (ROOT / "controller" / "github" / "forge.py").read_text()
    for name in re.findall(r"\b([A-Z_]+)=", doctor):
        assert f'"{name}"' in forge, name


def test_the_init_commands_of_the_guide_run(tmp_path: Path) -> None:
    commands = [c for c in _sh_lines(SECTIONS[0]) if c.startswith("jitctl init ")]
    assert len(commands) >= 2
    for i, command in enumerate(commands):
        args = shlex.split(command)[2:]
        args[0] = str(tmp_path / f"repo{i}")  # the folder
        result = CliRunner().invoke(main, ["init", *args], env=git_env())
        assert result.exit_code == 0, (command, result.output)
    # the two-account example gives the entitlements and stacks the guide names
    catalog = yaml.safe_load((tmp_path / "repo1" / "catalog.yaml").read_text())
    for account in ("111111111111", "222222222222"):
        assert f"`aws-readonly-{account}`" in SECTIONS[0]
        assert catalog["entitlements"][f"aws-readonly-{account}"]["target"]["account_id"] == (
            account
        )


def test_every_init_option_the_guide_names_exists() -> None:
    from controller.cli.init import init

    options = {o for p in init.params for o in getattr(p, "opts", [])}
    named = set(re.findall(r"`(?:jitctl init[^`]*?)?(--[a-z-]+)", DOC))
    assert named and named <= options, named - options


@pytest.mark.parametrize(
    ("clouds", "backend"),
    [(("aws", "gcp", "azure"), None), (("azure",), None), (("gcp",), None)],
)
def test_every_repository_variable_the_workflows_read_is_in_the_guide(
    clouds: tuple[str, ...], backend: str | None
) -> None:
    files = plan(Options(clouds=clouds, state_backend=backend))
    used = {
        v
        for path, text in files.items()
        if path.startswith(".github/workflows/")
        for v in re.findall(r"vars\.(JITCTL_[A-Z0-9_]+)", text)
    }
    assert used
    documented = set(re.findall(r"`(JITCTL_[A-Z0-9_]+)`", DOC))
    assert used <= documented, used - documented
    # one cloud only needs no other cloud's variables (what the guide promises)
    others = {"aws": "JITCTL_AWS_", "gcp": "JITCTL_GCP_", "azure": "JITCTL_AZURE_"}
    for cloud, prefix in others.items():
        if cloud not in clouds:
            assert not [v for v in used if v.startswith(prefix)], cloud


def test_the_state_backend_section_matches_the_files() -> None:
    assert "backend.hcl.example" in DOC and "use_lockfile" in DOC
    example = (ROOT / "terraform" / "backend.hcl.example").read_text()
    assert re.search(r"^use_lockfile\s*=\s*true", example, re.M)
    for backend in ("s3", "gcs", "azurerm"):
        versions = plan(Options(clouds=("aws",), state_backend=backend))["terraform/versions.tf"]
        assert f'backend "{backend}" {{}}' in versions
        assert f"| `{backend}` |" in DOC
    # the apply locks the S3 state with its lock file (the PR plan only reads, -lock=false)
    apply = plan(Options(clouds=("aws",)))[".github/workflows/jit-apply.yml"]
    assert '-backend-config="use_lockfile=true"' in apply
