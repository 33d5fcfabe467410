"""HashiCorp's HCL parser as a test oracle: ``tests/formats/hcl_oracle.cjs`` under node.

One node process reads a whole batch of files (the WASM module loads once). The npm package
``@cdktf/hcl2json`` is pinned in package.json/package-lock.json; ``scripts/bootstrap`` installs
it with ``npm ci``. Missing node or package is a test failure naming the fix, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("hcl_oracle.cjs")
PACKAGE = ROOT / "node_modules" / "@cdktf" / "hcl2json"
_WHERE_RE = re.compile(r"grant\.hcl:(\d+),(\d+)")


@dataclass(frozen=True)
class HclReading:
    """What HashiCorp's parser made of one file."""

    ok: bool
    value: Any = None  # hcl2json's JSON (when ok)
    error: str = ""  # HCL's diagnostics (when not ok)

    @property
    def line(self) -> int | None:
        """The line of HCL's first diagnostic."""
        m = _WHERE_RE.search(self.error)
        return int(m.group(1)) if m else None


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is missing: install Node.js, then run scripts/bootstrap", pytrace=False)
    if not PACKAGE.is_dir():
        pytest.fail(
            "node_modules/@cdktf/hcl2json is missing: run scripts/bootstrap (npm ci)",
            pytrace=False,
        )
    return found


def read_with_hcl(texts: Sequence[str]) -> list[HclReading]:
    """HCL's reading of each text, in order, from one node process."""
    proc = subprocess.run(
        [node(), str(SCRIPT)],
        input=json.dumps(list(texts)).encode(),
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"the HCL oracle failed: {proc.stderr.decode()[-2000:]}", pytrace=False)
    results = json.loads(proc.stdout)
    assert len(results) == len(texts)
    return [HclReading(r["ok"], r.get("value"), r.get("error", "")) for r in results]
