"""Report formats on a real history: OCSF validated against the schema pydantic-ocsf ships,
Markdown values copied exactly, dates for --since/--until, filters that match nothing."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ocsf.v1_7_0.events import UserAccess
from pydantic import ValidationError

from controller.audit.report import OCSF_VERSION
from controller.cli import main
from tests.audit.test_history import JITCTL, UNTIL, build
from tests.gitutil import Repo
from tests.signing import make_signer, new_signed_repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    signer = make_signer(tmp_path / "keys", JITCTL)
    r = new_signed_repo(tmp_path / "repo", signer)
    build(r, signer)
    return r


def run(repo: Repo, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--repo", str(repo.path), "--now", UNTIL, "audit", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _schema() -> dict[str, Any]:
    text = resources.files("ocsf").joinpath("schemas/v1_7_0.json").read_text("utf-8")
    return dict(json.loads(text))


def test_ocsf_events_validate_against_the_shipped_schema(repo: Repo) -> None:
    code, out, _ = run(repo, "--format", "ocsf")
    assert code == 1  # the history has error findings
    events = [json.loads(line) for line in out.splitlines()]
    _, jsonl, _ = run(repo, "--format", "jsonl")
    assert len(events) == len(jsonl.splitlines())  # one OCSF event per audit event
    schema = _schema()
    cls = schema["events"]["user_access"]
    assert cls["uid"] == 5 and schema["version"] == OCSF_VERSION
    attributes: set[str] = set()
    name: str | None = "user_access"
    while name:  # the class's attributes and those it inherits (iam, base_event)
        attributes |= set(schema["events"][name]["attributes"])
        name = schema["events"][name].get("extends")
    for e in events:
        UserAccess.model_validate(e)  # the package's model of the schema: types, enums, required
        assert set(e) <= attributes, set(e) - attributes  # no key the class does not define
        activities = {
            **schema["events"]["base_event"]["attributes"]["activity_id"]["enum"],
            **cls["attributes"]["activity_id"]["enum"],
        }
        assert str(e["activity_id"]) in activities  # 1, 2 of the class; 99 Other of the base
        assert e["type_uid"] == 300500 + e["activity_id"]
    kinds = {(e["unmapped"]["grant"], e["activity_name"]) for e in events}
    assert ("bob-admin", "Assign Privileges") in kinds and (
        "bob-admin",
        "Revoke Privileges",
    ) in kinds
    bob = next(e for e in events if e["unmapped"]["grant"] == "bob-admin" and e["activity_id"] == 1)
    assert (bob["severity_id"], bob["status_id"]) == (4, 2)  # unproven: high, failure
    assert bob["user"]["name"] == "bob@example.com" and bob["privileges"] == ["aws-prod-admin"]
    assert "audit.unproven" in bob["metadata"]["labels"]


def test_ocsf_validation_is_real() -> None:
    """The validator refuses what the schema does not allow (so the test above can fail)."""
    good = {
        "class_uid": 3005,
        "category_uid": 3,
        "activity_id": 1,
        "type_uid": 300501,
        "time": 0,
        "severity_id": 1,
        "metadata": {"version": "1.7.0", "product": {"name": "jitctl", "vendor_name": "jitctl"}},
        "user": {"name": "alice@example.com"},
        "privileges": ["aws-prod-readonly"],
    }
    UserAccess.model_validate(good)
    for broken in (
        {k: v for k, v in good.items() if k != "privileges"},
        {**good, "severity_id": "loud"},
        {**good, "user": "alice"},
    ):
        with pytest.raises(ValidationError):
            UserAccess.model_validate(broken)


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")


def test_markdown_values_are_exact(repo: Repo) -> None:
    code, out, _ = run(repo, "--format", "md")
    assert code == 1
    assert not _INVISIBLE.search(out)
    assert "`alice@example.com`" in out and "`bob@example.com`" in out
    # a value with a pipe and backticks stays one cell and reads back exactly
    from controller.formats.markdown import md_code

    assert md_code("a|b") == "`a\\|b`" and md_code("x`y") == "``x`y``"
    assert md_code("@acme/sre") == "`@acme/sre`"
    assert "### Access windows" in out
    assert out.index("### Findings") < out.index("### Access windows") < out.index("### Events")


def test_dates_for_since_and_until(repo: Repo) -> None:
    _, by_date, _ = run(repo, "--since", "2026-11-24", "--until", "2026-11-24")
    _, by_time, _ = run(repo, "--since", "2026-11-24T00:00:00Z", "--until", "2026-11-24T23:59:59Z")
    assert by_date == by_time and by_date
    _, none, _ = run(repo, "--since", "2026-11-25")
    assert none == ""
    code, _, err = run(repo, "--since", "24/11/2026")
    assert code == 2 and "neither a date (2026-10-01) nor an RFC 3339 timestamp" in err
    code, _, err = run(repo, "--since", "2026-02-30")
    assert code == 2 and "not a valid date" in err


def test_filters_that_match_nothing_say_so(repo: Repo) -> None:
    code, out, err = run(repo, "--principal", "mallory@*")
    assert code == 0 and out == ""
    assert "--principal 'mallory@*' matches nothing in the catalog or the history" in err
    code, out, err = run(repo, "--entitlement", "aws-prod-typo")
    assert "--entitlement 'aws-prod-typo' matches nothing" in err
    # a catalog principal with no history is not "nothing": it is an honest empty report
    code, out, err = run(repo, "--principal", "erin@example.com")
    assert "matches nothing" not in err
