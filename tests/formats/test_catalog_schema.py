"""docs/catalog.schema.json: the published JSON Schema of catalog.yaml agrees with the loader.

Checked with check-jsonschema (the tool a user's pre-commit or editor runs) on real files, and
structurally against the loader's own key lists so that neither drifts from the other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.formats.catalog import ENTITLEMENT_KEYS, MODULES, TOP_KEYS, load_catalog
from tests.factories import EXAMPLE_CATALOG_TEXT, ROOT

SCHEMA = ROOT / "docs" / "catalog.schema.json"


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(exe), "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        text=True,
    )


def test_schema_is_valid_and_accepts_the_shipped_catalogs() -> None:
    result = check_jsonschema(ROOT / "catalog.yaml", ROOT / "controller/examples/catalog.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ('    approvers: ["@acme/sre", "carol"]', '    aprovers: ["@acme/sre"]', "typo"),
        ("    max_duration: 12h", "    max_duration: 12 hours", "duration"),
        ("      project: acme-prod\n", "", "target key missing"),
        ("      role: roles/logging.viewer", "      role: x\n      region: y", "extra target key"),
        ("    min_approvals: 1\n", "    min_approvals: 0\n", "zero approvals"),
        ("  carol: [carol@example.com]", "  carol!: [carol@example.com]", "login"),
    ],
)
def test_schema_refuses_what_the_loader_refuses(
    tmp_path: Path, old: str, new: str, why: str
) -> None:
    assert old in EXAMPLE_CATALOG_TEXT, why
    text = EXAMPLE_CATALOG_TEXT.replace(old, new, 1)
    with pytest.raises(Exception, match="catalog"):
        load_catalog(text)
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    assert check_jsonschema(path).returncode == 1, why


def test_schema_names_exactly_the_loaders_keys() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert set(schema["properties"]) == set(TOP_KEYS)
    ent = schema["$defs"]["entitlement"]
    assert set(ent["properties"]) == set(ENTITLEMENT_KEYS)
    assert set(ent["properties"]["module"]["enum"]) == set(MODULES)
    targets = {
        rule["if"]["properties"]["module"]["const"]: rule["then"]["properties"]["target"]
        for rule in ent["allOf"]
    }
    assert set(targets) == set(MODULES)
    for module, shape in MODULES.items():
        assert set(targets[module]["properties"]) == set(shape), module
        assert set(targets[module]["required"]) == set(shape), module
