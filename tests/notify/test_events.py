"""What notifications say: the JSON body's exact keys, and text in which requester-controlled
values can neither mention anyone, format, link nor hide characters."""

from __future__ import annotations

import pytest

from controller.notify.events import grant_event, run_event, safe
from tests.factories import NOW, make_grant


@pytest.mark.parametrize(
    ("evil", "gone"),
    [
        ("<!channel> please", "<!channel>"),
        ("<@U024BE7LH>", "<@U"),
        ("@here @channel @everyone", "@here"),
        ("ping @alice", "@alice"),
        ("<at>Carol</at>", "<at>"),
        ("[click](https://evil.example/x)", "](https"),
        ("<https://evil.example|totally safe>", "<https"),
        ("see https://evil.example", "https://"),
        ("*bold* _it_ ~s~ `code`", "*bold*"),
        ("line1\nline2\r\n# heading", "\n"),
        ("rtl \u202egnp.exe", "\u202e"),
        ("zero\u200bwidth", "\u200b"),
        ("bell\x07", "\x07"),
    ],
)
def test_user_values_are_made_inert(evil: str, gone: str) -> None:
    out = safe(evil)
    assert gone not in out
    assert "\n" not in out


def test_text_escapes_every_user_value_and_keeps_the_facts() -> None:
    g = make_grant(id="alice-ro", principal="@here <!channel>", entitlement="aws-prod-readonly")
    ev = grant_event("granted", g, actor="<@U1>", repository="acme/access", at=NOW, pr=12)
    text = ev.text()
    assert text.startswith("granted: ")
    assert "until 2026-11-24T16:00:00Z" in text and "(PR #12)" in text
    for bad in ("@here", "<!channel>", "<@U1>"):
        assert bad not in text


def test_long_values_are_cut() -> None:
    assert len(safe("x" * 5000)) == 300


def test_a_run_event_has_no_grant_in_its_body() -> None:
    ev = run_event("drift", actor="jitctl", repository="acme/access", at=NOW, detail="2 changes")
    assert ev.body() == {
        "event": "drift",
        "grant": "",
        "principal": "",
        "entitlement": "",
        "expires_at": None,
        "actor": "jitctl",
        "pr": None,
        "repository": "acme/access",
        "at": "2026-11-24T12:00:00Z",
    }
    assert ev.text().startswith("drift: acme/access")
