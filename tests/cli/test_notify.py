"""Notifications of the whole local lifecycle, received by a real HTTP server on 127.0.0.1:
request, merge, remind, expire, revoke; and a receiver that is down or answers 500 changes no
command's result or exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from tests.factories import EXAMPLE_CATALOG_TEXT
from tests.gitutil import Repo, new_access_repo
from tests.webhook import Webhook, closed_port

RO_ID = "alice-aws-prod-readonly-20261124t1200"
RO_BRANCH = f"jit/request/{RO_ID}"


def catalog_with_hooks(*urls: str, secret: bool = False) -> str:
    block = "notify:\n" + "".join(f"  - url: {u}\n" for u in urls)
    if secret:
        block += "  - url_env: JITCTL_TEST_HOOK\n    events: [granted, revoked]\n"
    return EXAMPLE_CATALOG_TEXT.replace("\nentitlements:\n", f"\n{block}entitlements:\n", 1)


def run(
    repo: Repo, now: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--repo", str(repo.path), "--now", now, *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def lifecycle(repo: Repo, env: dict[str, str] | None = None) -> list[tuple[int, str, str]]:
    """request, merge, remind twice, expire; then a second grant, merged and revoked (fixed
    ends, so that expiry lands where the story says)."""
    out = [
        run(repo, "2026-11-24T12:00:00Z", "request", "aws-prod-readonly", "--for", "4h",
            "--reason", "INC-1: <!channel> 5xx", "--as", "alice", "--local", "--fixed-end",
            env=env),
        run(repo, "2026-11-24T12:05:00Z", "merge", RO_BRANCH, "--local", "--approved-by",
            "carol", env=env),
        run(repo, "2026-11-24T15:40:00Z", "remind", "--before", "30m", "--local", env=env),
        run(repo, "2026-11-24T15:45:00Z", "remind", "--before", "30m", "--local", env=env),
        run(repo, "2026-11-24T16:00:00Z", "expire", "--local", env=env),
        run(repo, "2026-11-24T17:00:00Z", "request", "aws-prod-readonly", "--for", "1h",
            "--reason", "INC-2", "--as", "alice", "--local", "--fixed-end", env=env),
        run(repo, "2026-11-24T17:01:00Z", "merge",
            "jit/request/alice-aws-prod-readonly-20261124t1700", "--local", "--approved-by",
            "dave", env=env),
        run(repo, "2026-11-24T17:30:00Z", "revoke", "alice-aws-prod-readonly-20261124t1700",
            "--local", "--as", "carol", env=env),
    ]  # fmt: skip
    return out


def test_the_whole_local_lifecycle_notifies_a_real_webhook(
    tmp_path: Path, webhook: Webhook
) -> None:
    repo = new_access_repo(tmp_path, catalog_with_hooks(webhook.url + "/jit"))
    results = lifecycle(repo)
    assert [code for code, _, _ in results] == [0] * 8
    second = "alice-aws-prod-readonly-20261124t1700"
    assert webhook.events("/jit") == [
        ("requested", RO_ID),
        ("approved", RO_ID),
        ("granted", RO_ID),
        ("expiring", RO_ID),  # once: the second remind finds it reminded
        ("expired", RO_ID),
        ("requested", second),
        ("approved", second),
        ("granted", second),
        ("revoked", second),
    ]
    bodies = webhook.bodies("/jit")
    assert all(sorted(b) == sorted(
        ["event", "grant", "principal", "entitlement", "expires_at", "actor", "pr",
         "repository", "at"]) for b in bodies)  # fmt: skip
    first = {b["event"]: b for b in bodies if b["grant"] == RO_ID}
    assert first["requested"]["actor"] == "alice"
    assert first["approved"]["actor"] == "carol"
    assert first["granted"] == {
        "event": "granted",
        "grant": RO_ID,
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": "2026-11-24T16:00:00Z",
        "actor": "alice",
        "pr": None,
        "repository": "work",
        "at": "2026-11-24T12:05:00Z",
    }
    assert first["expiring"]["at"] == "2026-11-24T15:40:00Z"
    assert first["expired"]["actor"] == "jitctl"
    assert {b["event"]: b for b in bodies if b["grant"] == second}["revoked"]["actor"] == "carol"
    assert "already reminded" in results[3][1]


def masked(results: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    """Exit codes and stdout, commit ids masked (the catalogs, hence the commits, differ)."""
    return [(code, re.sub(r"\b[0-9a-f]{12}\b", "<sha>", out)) for code, out, _ in results]


@pytest.mark.parametrize("broken", ["500", "down"])
def test_a_broken_webhook_changes_no_result(tmp_path: Path, webhook: Webhook, broken: str) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "bad").mkdir()
    ok_repo = new_access_repo(tmp_path / "ok", EXAMPLE_CATALOG_TEXT)
    expected = masked(lifecycle(ok_repo))
    if broken == "500":
        webhook.status = 500
        url = webhook.url + "/jit"
    else:
        url = f"http://127.0.0.1:{closed_port()}/jit"
    repo = new_access_repo(tmp_path / "bad", catalog_with_hooks(url, secret=True))
    results = lifecycle(repo)
    assert masked(results) == expected
    assert repo.files("main") == ok_repo.files("main") == ["grants/.gitkeep"]
    assert len(repo.log("--format=%H", "main").split()) == len(
        ok_repo.log("--format=%H", "main").split()
    )
    warnings = [
        line for _, _, err in results for line in err.splitlines() if "notification" in line
    ]
    assert len(warnings) == 9 + 3  # every event to the URL, and granted x2 + revoked: unset env
    assert all(w.startswith("warning: notification ") for w in warnings)
    assert any("JITCTL_TEST_HOOK is not set" in w for w in warnings)
    if broken == "500":
        assert len(webhook.received) == 9  # one attempt per event, no retry


def test_notification_failures_go_to_the_job_summary(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/jit"
    repo = new_access_repo(tmp_path, catalog_with_hooks(url))
    summary = tmp_path / "summary.md"
    code, _, _ = run(
        repo, "2026-11-24T12:00:00Z", "request", "aws-prod-readonly", "--for", "1h",
        "--reason", "x", "--as", "alice", "--local",
        env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_REPOSITORY": "acme/access"},
    )  # fmt: skip
    assert code == 0
    text = summary.read_text()
    assert text.startswith("### jitctl notifications")
    assert f"notification requested {RO_ID}" in text.replace("\\", "")
