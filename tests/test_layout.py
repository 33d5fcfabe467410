"""The architecture, as the import graph: the core is pure, adapters never import the CLI."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import ROOT

PACKAGES = ("core", "formats", "git", "github", "audit", "notify", "scaffold", "cli")
# what each package may import from controller (itself included); README's map says the same
ALLOWED = {
    "core": {"core"},
    "formats": {"core", "formats"},
    "git": {"core", "formats", "git"},
    "github": {"core", "formats", "git", "github"},
    "audit": {"core", "formats", "git", "audit"},
    "notify": {"core", "formats", "notify"},
    "scaffold": {"core", "scaffold"},
    "cli": set(PACKAGES),
}


def controller_imports(path: Path) -> set[str]:
    """The controller sub-packages a module imports (absolute or relative), anywhere in it."""
    pkg = path.relative_to(ROOT / "controller").parts[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                names = [f"controller.{pkg}.{node.module or ''}" if node.level == 1 else "?"]
            elif node.module:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if name == "?":
                found.add("?")
            elif parts[0] == "controller" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("pkg", PACKAGES)
def test_package_imports_only_what_it_may(pkg: str) -> None:
    bad = {}
    for path in sorted((ROOT / "controller" / pkg).rglob("*.py")):
        extra = controller_imports(path) - ALLOWED[pkg]
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert bad == {}


def test_no_flat_modules_left() -> None:
    flat = sorted(p.name for p in (ROOT / "controller").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py"]
    prefixed = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "controller").rglob("*.py")
        if re.match(r"(gh[a-z]|audit.|cli_)", p.stem)  # ghexpire, auditlog, cli_github
    ]
    assert prefixed == []


def test_importing_the_core_loads_no_adapter() -> None:
    """In a fresh interpreter, the core brings in no adapter, no I/O library and no CLI."""
    code = (
        "import sys, json, controller.core, controller.core.model, controller.core.policy, "
        "controller.core.render, controller.core.times, controller.core.errors; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(out))
    ours = {m for m in loaded if m.startswith("controller.")}
    assert ours and all(m.startswith("controller.core") for m in ours), sorted(ours)
    for lib in ("git", "github", "yaml", "hcl2", "click", "subprocess", "urllib3"):
        assert lib not in loaded, lib
