from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.errors import JitError
from controller.core.model import ApprovalRule
from controller.formats.catalog import load_catalog
from tests.factories import EXAMPLE_CATALOG_TEXT, example_catalog


def test_example_catalog_loads_with_every_cloud() -> None:
    cat = example_catalog()
    modules = {e.module for e in cat.entitlements.values()}
    assert modules == {"aws-iam-role", "gcp-iam", "azure-pim"}
    ro = cat.entitlements["aws-prod-readonly"]
    assert ro.max_duration == timedelta(hours=12)
    assert ro.approvals == (ApprovalRule(("@acme/sre", "carol"), 1),)
    assert ro.requesters == ("@acme/engineering",)
    admin = cat.entitlements["aws-prod-admin"]
    assert admin.approvals == (
        ApprovalRule(("@acme/sre",), 1),
        ApprovalRule(("@acme/security",), 1),
    )
    # defaults apply where the entitlement says nothing
    logs = cat.entitlements["gcp-prod-logs-viewer"]
    assert logs.approvals[0].count == 1
    assert cat.identities["alice"][0] == "alice@example.com"
    assert cat.teams["@acme/sre"] == ("carol", "dave")


def _edit(path: list[str], value: object) -> str:
    data = yaml.safe_load(EXAMPLE_CATALOG_TEXT)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (["version"], 2, "version: must be 1"),
        (["nonsense"], 1, "nonsense: unknown key"),
        (["defaults", "max_duration"], "8x", "defaults.max_duration"),
        (["defaults", "min_approvals"], 0, "defaults.min_approvals"),
        (
            ["identities", "alice"],
            "alice@example.com",
            "identities.alice: must be a non-empty list",
        ),
        (["identities", "not a login"], ["x"], "is not a GitHub login"),
        (["teams", "sre"], ["carol"], "teams.sre: a team is written as @org/team"),
        (["entitlements", "aws-prod-readonly", "module"], "aws-iam-user", "module: 'aws-iam-user'"),
        (["entitlements", "aws-prod-readonly", "max_duration"], "forever", "max_duration"),
        (["entitlements", "aws-prod-readonly", "description"], KeyError, "description: is missing"),
        (
            ["entitlements", "aws-prod-readonly", "target", "account_id"],
            KeyError,
            "target.account_id: is missing",
        ),
        (
            ["entitlements", "aws-prod-readonly", "approvals"],
            [{"from": ["carol"]}],
            "either approvers",
        ),
        (["entitlements", "aws-prod-readonly", "approvers"], ["not valid!"], "neither a GitHub"),
        (["entitlements", "aws-prod-admin", "approvals"], [], "non-empty list"),
        (
            ["entitlements", "aws-prod-admin", "approvals"],
            [{"from": ["@acme/sre"], "count": -1}],
            "approvals.0.count",
        ),
        (["entitlements", "aws-prod-admin", "approvals"], KeyError, "has no approval rule"),
        (["entitlements", "Bad Name"], {}, "entitlement name"),
        (["entitlements"], {}, "at least one entitlement"),
        (["entitlements", "gcp-prod-logs-viewer", "target"], "acme-prod", "must be a mapping"),
        (["entitlements", "gcp-prod-logs-viewer", "target", "zone"], "eu", "target.zone: unknown"),
        (["entitlements", "gcp-prod-logs-viewer", "target", "role"], ["a"], "target.role: must be"),
        (
            ["entitlements", "aws-prod-readonly", "target", "policy_arns"],
            "arn:x",
            "target.policy_arns: must be a non-empty list",
        ),
    ],
)
def test_broken_catalog_names_the_key(path: list[str], value: object, needle: str) -> None:
    with pytest.raises(JitError) as err:
        load_catalog(_edit(path, value), "catalog.yaml")
    assert needle in str(err.value)
    assert err.value.rule == "catalog.invalid"
    assert str(err.value).startswith("catalog.yaml:")


def test_error_carries_the_line() -> None:
    text = EXAMPLE_CATALOG_TEXT.replace("max_duration: 12h", "max_duration: 12x")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "12x" in ln)
    with pytest.raises(JitError, match=rf"catalog.yaml:{line}: entitlements.aws-prod-readonly"):
        load_catalog(text)


def test_duplicate_key_is_an_error_not_last_wins() -> None:
    text = EXAMPLE_CATALOG_TEXT.replace(
        "    max_duration: 1h\n", "    max_duration: 1h\n    max_duration: 24h\n", 1
    )
    with pytest.raises(JitError, match="set twice"):
        load_catalog(text)


def test_yaml_syntax_error() -> None:
    with pytest.raises(JitError) as err:
        load_catalog("version: 1\nentitlements: [\n", "c.yaml")
    assert err.value.rule == "catalog.syntax"


def test_yaml_tags_are_refused_by_safe_loading() -> None:
    with pytest.raises(JitError):
        load_catalog("!!python/object/apply:os.system ['true']\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_catalog_or_jiterror(text: str) -> None:
    with contextlib.suppress(JitError):
        load_catalog(text)


_near = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["8h", "0m", "x", "@acme/sre", "carol", "aws-iam-role", "gcp-iam", "", "1"]),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "defaults",
                    "identities",
                    "teams",
                    "entitlements",
                    "module",
                    "target",
                    "approvers",
                    "approvals",
                    "from",
                    "count",
                    "max_duration",
                    "description",
                    "requesters",
                    "min_approvals",
                ]
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_near)
def test_near_valid_structures_give_a_catalog_or_jiterror(data: object) -> None:
    with contextlib.suppress(JitError):
        load_catalog(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        # raw in the text: a comment, a login, a principal, a team member
        (EXAMPLE_CATALOG_TEXT.replace("version: 1", "version: 1 # \u202e"), ":4: the invisible"),
        (EXAMPLE_CATALOG_TEXT.replace("alice:", "alice\u200b:", 1), "U+200B"),
        (EXAMPLE_CATALOG_TEXT.replace("alice@example.com", "alice@example.com\u2066", 1), "U+2066"),
        (EXAMPLE_CATALOG_TEXT.replace("version: 1", "version: 1 # a\rb"), "carriage return"),
        (EXAMPLE_CATALOG_TEXT.replace("version: 1", "version: 1\n# \ufeff"), "U+FEFF"),
    ],
)
def test_invisible_characters_in_the_text_are_refused(text: str, needle: str) -> None:
    with pytest.raises(JitError) as exc:
        load_catalog(text)
    assert exc.value.rule == "catalog.invalid"
    assert needle in str(exc.value)


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        # YAML escapes decode to invisible characters: the key path names where
        (["identities", "alice"], ["alice@example.com\u202e"], "identities.alice.0: the value"),
        (["teams", "@acme/sre"], ["carol\u200d"], "teams.@acme/sre.0"),
        (["entitlements", "aws-prod-readonly", "target", "account_id"], "1234\u2060", "U+2060"),
        (["entitlements", "aws-prod-readonly", "description"], "a\u202eb", "description"),
    ],
)
def test_invisible_characters_in_values_are_refused(
    path: list[str], value: object, needle: str
) -> None:
    text = _edit(path, value)
    assert "\\u" in text or "\\U" in text or "\\x" in text  # written as a YAML escape
    with pytest.raises(JitError) as exc:
        load_catalog(text)
    assert exc.value.rule == "catalog.invalid"
    assert needle in str(exc.value)


def test_a_description_may_span_lines() -> None:
    text = _edit(["entitlements", "aws-prod-readonly", "description"], "line one\n\tline two")
    assert load_catalog(text).entitlements["aws-prod-readonly"].description.startswith("line")


def test_durations_take_ascii_digits_only() -> None:
    text = _edit(["entitlements", "aws-prod-readonly", "max_duration"], "\u0661h")
    with pytest.raises(JitError, match="max_duration"):
        load_catalog(text)
