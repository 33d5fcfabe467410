"""PIM durations Azure accepts (issue 16, what-to-build 2): an active assignment lasts at least
five minutes (Azure refuses a shorter one at apply, after merge, failing everyone's apply), and
the strictest role management policy ends active assignments after 15 days. `check` refuses a
shorter Azure window (rule azure.duration); the catalog refuses an azure-pim max_duration
outside [5m, 15d] (catalog.invalid, naming the line)."""

from __future__ import annotations

from typing import Any

import pytest

from controller.core.errors import JitError
from controller.core.policy import AZURE_PIM_MAX_WINDOW, AZURE_PIM_MIN_WINDOW, check_change
from controller.formats.catalog import load_catalog
from tests.core.test_policy import changeset
from tests.factories import EXAMPLE_CATALOG_TEXT as EXAMPLE
from tests.factories import make_grant, t

AZ = "11111111-1111-4111-8111-111111111111"


def az(start: str | None, end: str, **kw: Any) -> Any:
    return make_grant(
        id=kw.pop("id", "a"),
        principal=AZ,
        entitlement="azure-prod-contributor",
        starts_at=t(start) if start else None,
        expires_at=t(end),
        **kw,
    )


@pytest.mark.parametrize(
    ("start", "end", "short"),
    [
        (None, "2026-11-24T12:04:59Z", True),  # now is 12:00: 4m59s
        (None, "2026-11-24T12:05:00Z", False),  # exactly Azure's minimum
        ("2026-11-24T14:00:00Z", "2026-11-24T14:04:00Z", True),  # a later window of 4m
        ("2026-11-24T14:00:00Z", "2026-11-24T14:05:00Z", False),
        ("2026-11-24T11:00:00Z", "2026-11-24T12:03:00Z", True),  # started: counts from now
    ],
)
def test_an_azure_window_shorter_than_five_minutes_is_refused(
    start: str | None, end: str, short: bool
) -> None:
    d = check_change(changeset(added=[az(start, end)]))
    rules = [f.rule for f in d.errors]
    assert rules == (["azure.duration"] if short else [])
    if short:
        [f] = d.errors
        assert f.line == 4 and "no earlier than" in f.message


def test_an_extension_to_a_too_short_window_is_refused() -> None:
    """An extension re-creates the PIM assignment (azurerm has no update): the new window is
    judged like a new one."""
    before = az(None, "2026-11-24T12:01:00Z")
    after = az(None, "2026-11-24T12:03:00Z")
    d = check_change(changeset(modified=[(before, after)]))
    assert "azure.duration" in [f.rule for f in d.errors]


def test_other_modules_may_be_shorter() -> None:
    g = make_grant(expires_at=t("2026-11-24T12:02:00Z"))
    assert not check_change(changeset(added=[g])).errors


def catalog_with(max_duration: str | None, default: str = "8h") -> str:
    text = EXAMPLE.replace("  max_duration: 8h\n", f"  max_duration: {default}\n", 1)
    block = '    max_duration: 4h\n    approvals:\n      - {from: ["@acme/sre"], count: 2}'
    assert block in text
    repl = '    approvals:\n      - {from: ["@acme/sre"], count: 2}'
    if max_duration is not None:
        repl = f"    max_duration: {max_duration}\n" + repl
    return text.replace(block, repl, 1)


@pytest.mark.parametrize("value", ["4m", "4m59s", "15d1s", "30d"])
def test_the_catalog_refuses_an_azure_max_duration_azure_does_not_accept(value: str) -> None:
    text = catalog_with(value)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if f"max_duration: {value}" in ln)
    with pytest.raises(JitError) as e:
        load_catalog(text)
    assert e.value.rule == "catalog.invalid"
    assert f"catalog.yaml:{line}:" in str(e.value) and "Azure PIM" in str(e.value)


@pytest.mark.parametrize("value", ["5m", "4h", "15d"])
def test_the_catalog_accepts_azure_max_durations_within_azures_bounds(value: str) -> None:
    cat = load_catalog(catalog_with(value))
    ent = cat.entitlements["azure-prod-contributor"]
    assert AZURE_PIM_MIN_WINDOW <= ent.max_duration <= AZURE_PIM_MAX_WINDOW


def test_a_default_max_duration_too_long_for_azure_is_refused_at_the_entitlement() -> None:
    """An azure-pim entitlement without its own max_duration inherits defaults.max_duration:
    a default of 30 days cannot slip past the bound."""
    with pytest.raises(JitError) as e:
        load_catalog(catalog_with(None, default="30d"))
    assert "azure-prod-contributor" in str(e.value) and "30d" in str(e.value)
