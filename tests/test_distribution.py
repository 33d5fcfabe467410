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
    events = run([*later, "audit", "--format", "jsonl"], cwd=repo).stdout.splitlines()
    assert {json.loads(e)["event"] for e in events} >= {"requested", "granted", "expired"}
    assert os.listdir(repo / "grants") == [".gitkeep"]
