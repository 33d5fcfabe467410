"""The audit on real git repositories: merges, squashes, expiry, revocation, extension, a direct
push, a rename and a grant re-added after expiry, with pinned dates; every record's fields."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from controller.audit.history import HistoryReader
from controller.audit.report import COLUMNS
from controller.cli import main
from tests.factories import grant_text
from tests.gitutil import Repo
from tests.signing import SIGNERS_PATH, Signer, make_signer, new_signed_repo

COMMITTER = "Test Committer <committer@example.com>"
UNTIL = "2026-11-24T21:00:00Z"
USER = "Test User <test@example.com>"  # the clone's git config (the CLI runs unpinned)
JITCTL = "jitctl@example.com"  # the signer principal of jitctl's own commits
PROOF = {"proven": True, "proof": f"ssh:{JITCTL}"}

GRANTS: dict[str, dict[str, str]] = {
    "alice-ro": {
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": "2026-11-24T16:00:00Z",
        "reason": "INC-1: debugging",
    },
    "bob-admin": {
        "principal": "bob@example.com",
        "entitlement": "aws-prod-admin",
        "expires_at": "2026-11-24T12:30:00Z",
        "reason": "by hand",
    },
    "dave-logs": {
        "principal": "dave@example.com",
        "entitlement": "gcp-prod-logs-viewer",
        "expires_at": "2026-11-24T13:00:00Z",
        "reason": "<script>alert(1)</script> & more",
    },
}


def when(hhmm: str) -> dict[str, str]:
    ts = f"2026-11-24T{hhmm}:00Z"
    return {"GIT_AUTHOR_DATE": ts, "GIT_COMMITTER_DATE": ts}


def text(gid: str, **over: str) -> str:
    return grant_text(**{**GRANTS[gid], **over})


def build(repo: Repo, signer: Signer) -> dict[str, str]:
    """The history; returns the commit ids by name. jitctl's own commits are signed."""
    c: dict[str, str] = {}
    sign = signer.env()
    # 1. alice asks on a branch; the merge carries the approval (a real merge commit)
    repo.checkout("jit/request/alice-ro", new=True, start="main")
    c["req"] = repo.commit(
        {"grants/alice-ro.hcl": text("alice-ro")},
        "Request alice-ro\n\nJit-Kind: request\nJit-Grant: alice-ro\nRequested-by: alice\n",
        GIT_AUTHOR_NAME="Alice",
        GIT_AUTHOR_EMAIL="1+alice@users.noreply.github.com",
        **when("10:05"),
    )
    repo.checkout("main")
    repo.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge jit/request/alice-ro\n\nJit-Kind: request\nJit-Grant: alice-ro\n"
        "Requested-by: alice\nApproved-by: carol\n",
        "jit/request/alice-ro",
        **when("10:30"),
        **sign,
    )
    c["merge"] = repo.rev("HEAD")
    # 2. an extension, squashed on GitHub (PR 7)
    c["ext"] = repo.commit(
        {"grants/alice-ro.hcl": text("alice-ro", expires_at="2026-11-24T18:00:00Z")},
        "Extend alice-ro (#7)\n\nJit-Kind: extension\nJit-Grant: alice-ro\n"
        "Requested-by: alice\nApproved-by: dave\nJit-PR: 7\n",
        **when("11:00"),
        **sign,
    )
    # 3. bob pushes a grant by hand; carol revokes it
    c["push"] = repo.commit(
        {"grants/bob-admin.hcl": text("bob-admin")},
        "quick fix",
        GIT_AUTHOR_NAME="Bob",
        GIT_AUTHOR_EMAIL="bob@example.com",
        **when("11:30"),
    )
    c["revoke"] = repo.commit(
        {"grants/bob-admin.hcl": None},
        "Revoke bob-admin\n\nJit-Kind: revocation\nJit-Grant: bob-admin\nRevoked-by: carol\n",
        **when("12:00"),
        **sign,
    )
    # 4. dave-logs added by hand, then renamed, then expired late by the bot
    c["dave"] = repo.commit({"grants/dave-logs.hcl": text("dave-logs")}, "add", **when("12:10"))
    repo.git("mv", "grants/dave-logs.hcl", "grants/dave-logs2.hcl")
    c["rename"] = repo.commit({}, "rename", **when("12:20"))
    c["expire1"] = repo.commit(
        {"grants/dave-logs2.hcl": None},
        "Expire 1 grant\n\nJit-Kind: expiry\nExpired-Grant: dave-logs2 2026-11-24T13:00:00Z\n",
        GIT_COMMITTER_NAME="jitctl[bot]",
        GIT_COMMITTER_EMAIL="bot@example.com",
        **when("14:30"),
        **sign,
    )
    # 5. alice-ro expires, then is granted again with the same id (a new lifecycle)
    c["expire2"] = repo.commit(
        {"grants/alice-ro.hcl": None},
        "Expire 1 grant\n\nJit-Kind: expiry\nExpired-Grant: alice-ro 2026-11-24T18:00:00Z\n",
        GIT_COMMITTER_NAME="jitctl[bot]",
        GIT_COMMITTER_EMAIL="bot@example.com",
        **when("18:05"),
        **sign,
    )
    c["again"] = repo.commit(
        {"grants/alice-ro.hcl": text("alice-ro", expires_at="2026-11-24T20:00:00Z")},
        "Request alice-ro (#9)\n\nJit-Kind: request\nJit-Grant: alice-ro\n"
        "Requested-by: alice\nApproved-by: carol\nApproved-by: dave\nJit-PR: 9\n",
        **when("19:00"),
        **sign,
    )
    # a commit that does not touch grants/ is not in the audit
    repo.commit({"README.md": "hi\n"}, "docs", **when("19:10"))
    return c


def ev(
    event: str, gid: str, life: str, at: str, actor: str, commit: str, **kw: Any
) -> dict[str, Any]:
    base = GRANTS[gid.removesuffix("2")]
    out: dict[str, Any] = {
        "event": event,
        "at": f"2026-11-24T{at}:00Z",
        "grant": gid,
        "lifecycle": life,
        "principal": base["principal"],
        "entitlement": base["entitlement"],
        "actor": actor,
        "commit": commit,
        "pr": None,
        "approvers": [],
        "expires_at": base["expires_at"],
        "reason": base["reason"],
        "ticket": None,
        "unreviewed": False,
        "jit_kind": None,
        "previous": None,
        "lag_seconds": None,
        "flags": [],
        "proven": False,
        "proof": None,
        "duration": None,
    }
    out.update(kw)
    assert list(out) == list(COLUMNS)
    return out


def expected(c: dict[str, str]) -> list[dict[str, Any]]:
    a1 = f"alice-ro@{c['merge'][:12]}"
    a2 = f"alice-ro@{c['again'][:12]}"
    b = f"bob-admin@{c['push'][:12]}"
    d = f"dave-logs@{c['dave'][:12]}"
    req = {"jit_kind": "request", **PROOF}
    ext = {"jit_kind": "extension", "pr": 7, "expires_at": "2026-11-24T18:00:00Z", **PROOF}
    again = {"jit_kind": "request", "pr": 9, "expires_at": "2026-11-24T20:00:00Z", **PROOF}
    bot = "jitctl[bot] <bot@example.com>"
    return [
        ev("requested", "alice-ro", a1, "10:05", "alice", c["req"], **req),
        ev("approved", "alice-ro", a1, "10:30", "carol", c["merge"], approvers=["carol"], **req),
        ev("granted", "alice-ro", a1, "10:30", COMMITTER, c["merge"], approvers=["carol"], **req),
        ev("requested", "alice-ro", a1, "11:00", "alice", c["ext"], **ext),
        ev("approved", "alice-ro", a1, "11:00", "dave", c["ext"], approvers=["dave"], **ext),
        ev("extended", "alice-ro", a1, "11:00", COMMITTER, c["ext"], approvers=["dave"], **ext),
        ev(
            "requested",
            "bob-admin",
            b,
            "11:30",
            "Bob <bob@example.com>",
            c["push"],
            unreviewed=True,
        ),
        ev(
            "granted",
            "bob-admin",
            b,
            "11:30",
            COMMITTER,
            c["push"],
            unreviewed=True,
            flags=["audit.unproven", "audit.no-approval"],
        ),
        ev(
            "revoked",
            "bob-admin",
            b,
            "12:00",
            "carol",
            c["revoke"],
            jit_kind="revocation",
            **PROOF,
        ),
        ev(
            "requested",
            "dave-logs",
            d,
            "12:10",
            "Test Author <author@example.com>",
            c["dave"],
            unreviewed=True,
        ),
        ev(
            "granted",
            "dave-logs",
            d,
            "12:10",
            COMMITTER,
            c["dave"],
            unreviewed=True,
            flags=["audit.unproven", "audit.no-approval"],
        ),
        ev(
            "renamed",
            "dave-logs2",
            d,
            "12:20",
            COMMITTER,
            c["rename"],
            unreviewed=True,
            previous="dave-logs",
            flags=["audit.renamed"],
        ),
        ev(
            "expired",
            "dave-logs2",
            d,
            "14:30",
            bot,
            c["expire1"],
            jit_kind="expiry",
            lag_seconds=5400,
            **PROOF,
        ),
        ev(
            "expired",
            "alice-ro",
            a1,
            "18:05",
            bot,
            c["expire2"],
            jit_kind="expiry",
            lag_seconds=300,
            expires_at="2026-11-24T18:00:00Z",
            **PROOF,
        ),
        ev("requested", "alice-ro", a2, "19:00", "alice", c["again"], **again),
        ev(
            "approved",
            "alice-ro",
            a2,
            "19:00",
            "carol",
            c["again"],
            approvers=["carol", "dave"],
            **again,
        ),
        ev(
            "approved",
            "alice-ro",
            a2,
            "19:00",
            "dave",
            c["again"],
            approvers=["carol", "dave"],
            **again,
        ),
        ev(
            "granted",
            "alice-ro",
            a2,
            "19:00",
            COMMITTER,
            c["again"],
            approvers=["carol", "dave"],
            **again,
        ),
    ]


@pytest.fixture
def history(tmp_path: Path) -> tuple[Repo, dict[str, str]]:
    signer = make_signer(tmp_path / "keys", JITCTL)
    repo = new_signed_repo(tmp_path / "repo", signer)
    return repo, build(repo, signer)


def audit(repo: Repo, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", UNTIL, "audit", *args], env=env
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_every_record(history: tuple[Repo, dict[str, str]]) -> None:
    repo, c = history
    code, out, err = audit(repo)
    assert code == 1, err  # error findings (the hand-made grants) exit 1
    records = [json.loads(line) for line in out.splitlines()]
    assert records == expected(c)
    assert "audit.no-approval: 2" in err and "audit.removed-late: 1" in err
    assert "audit.unproven: 2" in err and "4 error(s)" in err
    assert "audit.overdue: 1" in err and "audit.renamed: 1" in err


def test_fixed_number_of_git_processes(history: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = history
    reader = HistoryReader(repo.path)
    records = reader.read("main")
    assert len(records) == 9  # the commits on main's first-parent chain that touch grants/
    # cat-file (catalog at the tip), cat-file (the trust files), git log, cat-file --batch
    # (grants and catalogs), cat-file --batch (the raw commits: signatures), git log --no-walk
    # (sides), git log (break-glass reviews: none here): a fixed number (OpenPGP-signed commits
    # would add one git log --no-walk; review records one cat-file for their signatures and one
    # for their catalogs)
    assert reader.processes == 7
    assert reader.reviews == []
    merge = records[0]
    assert len(merge.parents) == 2 and merge.side is not None
    assert merge.side.value("Jit-Kind") == "request"


def test_same_result_with_a_github_token(history: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = history
    _, plain, _ = audit(repo)
    _, with_token, _ = audit(
        repo, env={"GITHUB_TOKEN": "ghp_not-a-real-token", "GITHUB_API_URL": "http://127.0.0.1:9"}
    )
    assert plain == with_token


def test_csv_has_stable_columns(history: tuple[Repo, dict[str, str]]) -> None:
    repo, c = history
    code, out, _ = audit(repo, "--format", "csv", "--principal", "alice@*")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + 11
    first = dict(zip(COLUMNS, rows[1], strict=True))
    assert first["event"] == "requested" and first["commit"] == c["req"]
    assert first["unreviewed"] == "false" and first["pr"] == ""
    approved = dict(zip(COLUMNS, rows[-2], strict=True))
    assert approved["approvers"] == "carol;dave"


def test_period_and_fail_on_findings(history: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = history
    code, out, _ = audit(repo, "--since", "2026-11-24T12:00:00Z", "--until", "2026-11-24T13:00:00Z")
    assert code == 1  # dave-logs, unproven, was granted in the period
    assert [json.loads(x)["event"] for x in out.splitlines()] == [
        "revoked",
        "requested",
        "granted",
        "renamed",
    ]
    code, _, _ = audit(repo, "--fail-on-findings")
    assert code == 1
    code, _, err = audit(repo, "--ref", "nope")
    assert code == 2 and "Error:" in err


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.windows: list[str] = []
        self.lags = 0
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.rows: list[list[str]] = []  # the access-window table
        self._in_windows = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
        if tag == "table":
            self._in_windows = a.get("id") == "windows"
        if self._in_windows and tag == "tr":
            self.rows.append([])
        if self._in_windows and tag == "td":
            self._cell = []
        cls = (a.get("class") or "").split()
        if tag == "rect" and "window" in cls:
            self.windows.append(a.get("data-lifecycle") or "")
        if tag == "rect" and "lag" in cls:
            self.lags += 1
        for value in a.values():
            if value and ("http://" in value or "https://" in value or value.startswith("//")):
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_windows = False
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def test_html_report(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, c = history
    out = tmp_path / "audit.html"
    code, _, _ = audit(repo, "--format", "html", "--out", str(out))
    assert code == 1
    page = out.read_text("utf-8")
    parser = _Html()
    parser.feed(page)
    assert "http://" not in page and "https://" not in page and parser.urls == []
    assert not parser.tags & {"link", "img", "iframe", "object"}
    assert parser.scripts == [{}]  # one inline script (sort and filter), nothing loaded
    # the access-window table: who, what, from, to, removed, requested/approved by, PR, proven
    rows = {(r[0], r[1], r[2]): r for r in parser.rows if r}
    assert rows[("alice@example.com", "aws-prod-readonly", "2026-11-24T10:30:00Z")] == [
        "alice@example.com",
        "aws-prod-readonly",
        "2026-11-24T10:30:00Z",
        "2026-11-24T18:00:00Z",
        "2026-11-24T18:05:00Z (expired)",
        "alice",
        "carol, dave",
        "#7",
        "yes",
        "alice-ro",
    ]
    bob = rows[("bob@example.com", "aws-prod-admin", "2026-11-24T11:30:00Z")]
    assert bob[5:9] == ["Bob <bob@example.com>", "", "", "NO"]
    assert sorted(parser.windows) == sorted(
        [
            f"alice-ro@{c['merge'][:12]}",
            f"alice-ro@{c['again'][:12]}",
            f"bob-admin@{c['push'][:12]}",
            f"dave-logs@{c['dave'][:12]}",
        ]
    )
    # removed after expires_at: dave-logs (90 min), alice-ro (5 min), alice-ro again (overdue)
    assert parser.lags == 3
    assert "<script>alert(1)</script>" in "".join(parser.text)  # shown as text, not run
    assert "audit.removed-late" in page and "svg" in parser.tags


def test_markdown_report(history: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = history
    code, out, _ = audit(repo, "--format", "md")
    assert code == 1
    assert out.index("### Findings") < out.index("### Expiry lag") < out.index("### Events")
    assert "<script>" not in out
    assert "lag p50 5m, p95 1h30m, max 1h30m" in out


# --- end to end: the local lifecycle commands, then the audit ------------------------------


def jit(repo: Repo, now: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["--repo", str(repo.path), "--now", f"2026-11-24T{now}:00Z", *args]
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout) if "--format" in args else {}


def test_audit_of_the_local_lifecycle(tmp_path: Path) -> None:
    """jitctl's own local merges, revocation and expiry are signed (the catalog names an
    allowed-signers file) and the audit proves every one of them: no finding at all."""
    signer = make_signer(tmp_path / "keys", JITCTL)
    repo = new_signed_repo(tmp_path / "repo", signer)
    signer.configure(repo)
    ro = "alice-aws-prod-readonly-20261124t1200"
    req = ("--as", "alice", "--local", "--format", "json")
    b1 = jit(
        repo, "12:00", "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-1", *req
    )
    jit(repo, "12:30", "merge", b1["branch"], "--local", "--approved-by", "carol")
    b2 = jit(
        repo,
        "13:00",
        "request",
        "aws-prod-readonly",
        "--for",
        "1h",
        "--reason",
        "INC-2",
        "--as",
        "bob",
        "--local",
        "--format",
        "json",
    )
    jit(repo, "13:05", "merge", b2["branch"], "--local", "--approved-by", "carol,dave")
    bob = b2["branch"].removeprefix("jit/request/")
    jit(repo, "13:30", "revoke", bob, "--local", "--as", "carol", "--reason", "done")
    b3 = jit(repo, "15:00", "extend", ro, "--for", "2h", *req)
    jit(repo, "15:10", "merge", b3["branch"], "--local", "--approved-by", "dave")
    # the clock started at the merge (12:30 + 4h = 16:30), then +2h: 18:30
    jit(repo, "18:50", "expire", "--local")

    code, out, err = audit(repo)
    assert code == 0, err
    rows = [
        (r["event"], r["grant"], r["at"][11:16], r["actor"], r["approvers"], r["unreviewed"])
        for r in map(json.loads, out.splitlines())
    ]
    assert rows == [
        ("requested", ro, "12:00", "alice", [], False),
        ("approved", ro, "12:30", "carol", ["carol"], False),
        ("granted", ro, "12:30", USER, ["carol"], False),
        ("requested", bob, "13:00", "bob", [], False),
        ("approved", bob, "13:05", "carol", ["carol"], False),  # one approval was needed
        ("granted", bob, "13:05", USER, ["carol"], False),
        ("revoked", bob, "13:30", "carol", [], False),
        ("requested", ro, "15:00", "alice", [], False),
        ("approved", ro, "15:10", "dave", ["dave"], False),
        ("extended", ro, "15:10", USER, ["dave"], False),
        ("expired", ro, "18:50", USER, [], False),
    ]
    records = [json.loads(x) for x in out.splitlines()]
    assert records[-1]["lag_seconds"] == 20 * 60
    assert records[-1]["expires_at"] == "2026-11-24T18:30:00Z"
    # the duration asked is recorded next to the window granted
    granted = [r for r in records if r["event"] == "granted"]
    assert [(r["at"][11:16], r["duration"], r["expires_at"][11:16]) for r in granted] == [
        ("12:30", "4h", "16:30"),
        ("13:05", "1h", "14:05"),
    ]
    assert all(not r["flags"] for r in records)
    assert all(r["proven"] and r["proof"] == f"ssh:{JITCTL}" for r in records)
    assert "no findings" in err
    # every commit jitctl made on main carries a signature git verifies
    sigs = repo.git("log", "--first-parent", "--format=%G? %GS", "-n", "5", "main",
                    GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="gpg.ssh.allowedSignersFile",
                    GIT_CONFIG_VALUE_0=str(repo.path / SIGNERS_PATH))  # fmt: skip
    assert sigs.split("\n")[:5] == [f"G {JITCTL}"] * 5


def test_signing_without_a_key_writes_nothing(tmp_path: Path) -> None:
    """The catalog asks for signed merges and git has no signing key: the merge fails with git's
    reason and the default branch does not move (never an unsigned jitctl merge)."""
    signer = make_signer(tmp_path / "keys", JITCTL)
    repo = new_signed_repo(tmp_path / "repo", signer)
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingKey", str(tmp_path / "keys" / "missing"))
    b1 = jit(
        repo, "12:00", "request", "aws-prod-readonly", "--for", "4h", "--reason", "INC-1",
        "--as", "alice", "--local", "--format", "json",
    )  # fmt: skip
    before = repo.rev("main")
    result = CliRunner().invoke(
        main,
        ["--repo", str(repo.path), "--now", "2026-11-24T12:30:00Z", "merge", b1["branch"],
         "--local", "--approved-by", "carol"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Error: git commit-tree" in result.stderr
    assert repo.rev("main") == before
