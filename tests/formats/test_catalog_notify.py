"""catalog.yaml's notify, request_ttl and break_glass keys: what loads, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.core.errors import JitError
from controller.core.model import NOTIFY_EVENTS, BreakGlass, NotifyTarget
from controller.formats.catalog import load_catalog
from tests.factories import EXAMPLE_CATALOG_TEXT, example_catalog


def with_top(block: str) -> str:
    return EXAMPLE_CATALOG_TEXT.replace("\nentitlements:\n", f"\n{block}\nentitlements:\n", 1)


def test_example_catalog_has_a_break_glass_entitlement_and_no_targets() -> None:
    cat = example_catalog()
    assert cat.entitlements["aws-prod-admin"].break_glass == BreakGlass(
        timedelta(hours=1), timedelta(hours=4)
    )
    assert cat.entitlements["aws-prod-readonly"].break_glass is None
    assert cat.notify == ()
    assert cat.request_ttl == timedelta(hours=24)


def test_notify_targets_load_with_their_events_and_lines() -> None:
    text = with_top(
        "notify:\n"
        "  - url: http://hooks.example.internal/jit\n"
        "    events: [requested, break-glass]\n"
        "  - url_env: JITCTL_SLACK_WEBHOOK\n"
        "request_ttl: 2h\n"
    )
    cat = load_catalog(text)
    line = text.splitlines().index("  - url: http://hooks.example.internal/jit") + 1
    assert cat.notify == (
        NotifyTarget(
            "http://hooks.example.internal/jit", None, frozenset({"requested", "break-glass"}), line
        ),
        NotifyTarget(None, "JITCTL_SLACK_WEBHOOK", frozenset(NOTIFY_EVENTS), line + 2),
    )
    assert cat.notify[1].name == "$JITCTL_SLACK_WEBHOOK"
    assert cat.request_ttl == timedelta(hours=2)


@pytest.mark.parametrize(
    ("block", "needle"),
    [
        ("notify: {url: x}", "notify: must be a list"),
        ("notify:\n  - events: [granted]", "notify.0: give exactly one of url"),
        ("notify:\n  - {url: 'http://a/b', url_env: X}", "give exactly one"),
        ("notify:\n  - url: not a url", "notify.0.url: 'not a url' is not a URL"),
        ("notify:\n  - url_env: lower-case", "is not an environment variable name"),
        # a catalog edit must never turn jitctl's own credentials into a webhook address
        ("notify:\n  - url_env: GITHUB_TOKEN", "GITHUB_TOKEN holds a jitctl credential"),
        ("notify:\n  - url_env: JITCTL_APP_PRIVATE_KEY", "holds a jitctl credential"),
        ("notify:\n  - {url: 'http://a/b', events: [granted, hacked]}", "unknown event 'hacked'"),
        ("notify:\n  - {url: 'http://a/b', events: []}", "notify.0.events: must be a non-empty"),
        ("notify:\n  - {url: 'http://a/b', secret: x}", "notify.0.secret: unknown key"),
        ("request_ttl: soon", "request_ttl"),
    ],
)
def test_broken_notify_names_the_key(block: str, needle: str) -> None:
    with pytest.raises(JitError) as err:
        load_catalog(with_top(block))
    assert needle in str(err.value)
    assert err.value.rule == "catalog.invalid"
    assert str(err.value).startswith("catalog.yaml:")


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("{max_duration: 30m}", "break_glass.review_within: is missing"),
        ("{review_within: 4h}", "break_glass.max_duration: is missing"),
        ("{max_duration: 2h, review_within: 4h}", "must not be longer than the entitlement's"),
        (
            "{max_duration: 30m, review_within: 4h, approvers: [x]}",
            "break_glass.approvers: unknown",
        ),
        ("{max_duration: 30m, review_within: never}", "break_glass.review_within"),
        ("yes", "break_glass: must be a mapping"),
    ],
)
def test_broken_break_glass_names_the_key(value: str, needle: str) -> None:
    text = EXAMPLE_CATALOG_TEXT.replace(
        "break_glass: {max_duration: 1h, review_within: 4h}", f"break_glass: {value}"
    )
    with pytest.raises(JitError, match=r"entitlements\.aws-prod-admin\.break_glass") as err:
        load_catalog(text)
    assert needle in str(err.value)


def test_min_approvals_zero_is_still_refused() -> None:
    """Break-glass is the one way around approval; a zero approval rule never is."""
    text = EXAMPLE_CATALOG_TEXT.replace(
        "min_approvals: 1\n    requesters", "min_approvals: 0\n    requesters"
    )
    with pytest.raises(JitError, match="min_approvals: must be a whole number of at least 1"):
        load_catalog(text)


def test_the_published_schema_agrees_on_notify_and_break_glass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.formats.test_catalog_schema import check_jsonschema

    good = with_top("notify:\n  - url_env: JITCTL_SLACK_WEBHOOK\n    events: [expiring]\n"
                    "request_ttl: 2h")  # fmt: skip
    load_catalog(good)
    path = tmp_path / "catalog.yaml"
    path.write_text(good)
    assert check_jsonschema(path).returncode == 0
    for bad in (
        "notify:\n  - url_env: GITHUB_TOKEN",
        "notify:\n  - {url: 'http://a/b', url_env: X}",
        "notify:\n  - {url: 'http://a/b', events: [hacked]}",
    ):
        with pytest.raises(JitError):
            load_catalog(with_top(bad))
        path.write_text(with_top(bad))
        assert check_jsonschema(path).returncode == 1, bad
