"""Shared helpers for the infra tests: find the real tools, or fail naming scripts/bootstrap."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP_HINT = "install it with scripts/bootstrap (CI runs it through .ci/run)"


def find_tool(name: str, *extra: Path) -> str:
    """The path of a tool: next to this Python, in .tools/, in .venv/, on PATH; else FAIL."""
    candidates = [Path(sys.executable).parent / name, *extra, ROOT / ".venv" / "bin" / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"{name} is missing: {BOOTSTRAP_HINT}", pytrace=False)


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    # A TF_CLI_CONFIG_FILE pointing at nothing makes terraform warn on every call.
    env.pop("TF_CLI_CONFIG_FILE", None)
    env["CHECKPOINT_DISABLE"] = "1"
    env["TF_IN_AUTOMATION"] = "1"
    return env


def run(cmd: list[str], cwd: Path | None = None, timeout: int = 120, **kw: object):
    return subprocess.run(
        cmd,
        cwd=cwd or ROOT,
        env=kw.pop("env", None) or tool_env(),  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def terraform() -> str:
    return find_tool("terraform")
