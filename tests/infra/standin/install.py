"""Install the stand-in provider for one test: the served schema (a subset of the real one), a
launcher per provider, and a Terraform CLI config with dev_overrides, all under a tmp directory.
Returns the environment to run terraform with (TF_CLI_CONFIG_FILE set for that test only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..conftest import ROOT, tool_env
from ..provider_schema import load

PROVIDER = Path(__file__).with_name("provider.py")
CACHE = ROOT / ".tools" / "provider-schemas"
# the highest release each versions.tf admits, as packaged (tests/infra/test_provider_schemas.py)
PACKAGES = {"google": "provider-google-6", "azurerm": "provider-azurerm-4.55"}
# what the modules use, and so what the stand-in serves
TYPES = {
    "google": (["google_project_iam_member"], []),
    "azurerm": (["azurerm_pim_active_role_assignment"], ["azurerm_role_definition"]),
}


def install(tmp: Path, package_dir: dict[str, Path]) -> dict[str, str]:
    """package_dir: provider name -> node_modules/<alias> (the jsii assembly)."""
    served: dict[str, object] = {}
    for name, pkg in package_dir.items():
        schema = load(pkg, CACHE)
        resources, data = TYPES[name]
        served[name] = {
            "version": schema.version,
            "config": schema.config,
            "resources": {t: schema.resources[t] for t in resources},
            "data_sources": {t: schema.data_sources[t] for t in data},
        }
    (tmp / "standin-schema.json").write_text(json.dumps(served, sort_keys=True))
    bindir = tmp / "standin-bin"
    bindir.mkdir(exist_ok=True)
    overrides = []
    for name in package_dir:
        launcher = bindir / f"terraform-provider-{name}"
        # HOME: tf caches its self-signed plugin certificate under ~/.cache; keep it in tmp
        launcher.write_text(
            f'#!/bin/sh\nexport HOME="{tmp / "standin-home"}" STANDIN_PROVIDER={name}\n'
            f'exec "{sys.executable}" "{PROVIDER}" "$@"\n'
        )
        launcher.chmod(0o755)
        overrides.append(f'    "hashicorp/{name}" = "{bindir}"')
    cli = tmp / "standin.tfrc"
    cli.write_text(
        "provider_installation {\n  dev_overrides {\n"
        + "\n".join(overrides)
        + "\n  }\n  direct {}\n}\n"
    )
    env = tool_env()
    env["TF_CLI_CONFIG_FILE"] = str(cli)
    env["STANDIN_SCHEMA"] = str(tmp / "standin-schema.json")
    env["STANDIN_CLOUD"] = str(tmp / "standin-cloud.json")
    return env
