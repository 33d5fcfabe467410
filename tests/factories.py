"""Test factories: grants, catalogs and grant file texts with overridable defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.core.model import Catalog, Grant
from controller.core.times import format_rfc3339, parse_rfc3339
from controller.formats.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG_TEXT = (ROOT / "catalog.yaml").read_text("utf-8")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def example_catalog() -> Catalog:
    return load_catalog(EXAMPLE_CATALOG_TEXT)


def t(text: str) -> datetime:
    return parse_rfc3339(text)


def make_grant(**overrides: Any) -> Grant:
    gid = overrides.pop("id", "alice-ro")
    values: dict[str, Any] = {
        "id": gid,
        "path": f"grants/{gid}.hcl",
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": t("2026-11-24T16:00:00Z"),
        "reason": "INC-1: debugging",
        "starts_at": None,
        "ticket": None,
        "lines": {"grant": 1, "principal": 2, "entitlement": 3, "expires_at": 4, "reason": 5},
    }
    values.update(overrides)
    return Grant(**values)


def grant_text(**overrides: Any) -> str:
    """A grant file's text; a value of None leaves the attribute out."""
    values: dict[str, Any] = {
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": "2026-11-24T16:00:00Z",
        "reason": "INC-1: debugging",
    }
    values.update(overrides)
    lines = ["grant {"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = format_rfc3339(value)
        lines.append(f'  {key} = "{value}"')
    lines.append("}")
    return "\n".join(lines) + "\n"
