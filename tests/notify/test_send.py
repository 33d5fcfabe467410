"""Delivery through apprise to a real HTTP server on 127.0.0.1: the generic webhook's exact
body, subscriptions, secret URLs from the environment, and failures as values."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.core.model import NOTIFY_EVENTS, NotifyTarget
from controller.notify.events import Event, grant_event
from controller.notify.send import deliver
from tests.factories import make_grant
from tests.webhook import Webhook, closed_port

AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALL = frozenset(NOTIFY_EVENTS)


def event(kind: str = "granted", **kw: object) -> Event:
    g = make_grant(**kw)
    return grant_event(kind, g, actor="carol", repository="acme/access", at=AT, pr=7)


def test_generic_webhook_gets_exactly_the_documented_body(webhook: Webhook) -> None:
    failures = deliver([NotifyTarget(webhook.url + "/jit", None, ALL)], [event()], {})
    assert failures == []
    [got] = webhook.received
    assert got.path == "/jit"
    assert got.content_type == "application/json"
    assert got.json() == {
        "event": "granted",
        "grant": "alice-ro",
        "principal": "alice@example.com",
        "entitlement": "aws-prod-readonly",
        "expires_at": "2026-11-24T16:00:00Z",
        "actor": "carol",
        "pr": 7,
        "repository": "acme/access",
        "at": "2026-11-24T12:00:00Z",
    }


def test_one_post_per_event_and_only_subscribed_events(webhook: Webhook) -> None:
    targets = [
        NotifyTarget(webhook.url + "/all", None, ALL),
        NotifyTarget(webhook.url + "/expiry", None, frozenset({"expired"})),
    ]
    events = [event("requested"), event("granted"), event("expired")]
    assert deliver(targets, events, {}) == []
    assert webhook.events("/all") == [
        ("requested", "alice-ro"),
        ("granted", "alice-ro"),
        ("expired", "alice-ro"),
    ]
    assert webhook.events("/expiry") == [("expired", "alice-ro")]


def test_secret_url_comes_from_the_environment(webhook: Webhook) -> None:
    target = NotifyTarget(None, "JITCTL_HOOK", ALL)
    assert deliver([target], [event()], {"JITCTL_HOOK": webhook.url + "/s"}) == []
    assert webhook.events("/s") == [("granted", "alice-ro")]
    [failure] = deliver([target], [event()], {})
    assert (
        failure.text()
        == "notification granted alice-ro to $JITCTL_HOOK failed: JITCTL_HOOK is not set"
    )


def test_a_receiver_answering_500_is_a_failure_not_an_exception(webhook: Webhook) -> None:
    webhook.status = 500
    [failure] = deliver([NotifyTarget(webhook.url + "/x", None, ALL)], [event()], {})
    assert (failure.event, failure.grant) == ("granted", "alice-ro")
    assert "500" in failure.why
    assert len(webhook.received) == 1  # tried once: never retried into a duplicate


def test_a_receiver_that_is_down_is_a_failure_and_names_no_secret() -> None:
    url = f"http://127.0.0.1:{closed_port()}/T0KEN-secret-path"
    [failure] = deliver([NotifyTarget(None, "JITCTL_HOOK", ALL)], [event()], {"JITCTL_HOOK": url})
    assert failure.target == "$JITCTL_HOOK"
    assert "T0KEN-secret-path" not in failure.text()


def test_an_unsupported_url_is_a_failure() -> None:
    [failure] = deliver([NotifyTarget("nosuchservice://x/y", None, ALL)], [event()], {})
    assert "nosuchservice" in failure.why


def test_other_services_get_escaped_text(webhook: Webhook) -> None:
    """An apprise URL (here apprise's own json:// format, standing in for Slack or Teams) gets
    the text, where a requester's values can neither mention, format nor link."""
    evil = make_grant(principal="<!channel> @here [x](https://evil.example) *b*\u202e")
    ev = grant_event("requested", evil, actor="@alice", repository="acme/access", at=AT)
    url = webhook.url.replace("http://", "json://") + "/text"
    assert deliver([NotifyTarget(url, None, ALL)], [ev], {}) == []
    [got] = webhook.bodies("/text")
    message = got["message"]
    for bad in ("<!channel>", "@here", "@alice", "[x]", "https://", "*b*", "\u202e"):
        assert bad not in message, bad
    assert message.startswith("requested: ")
    assert got["title"] == "jitctl: access requested"


def test_a_webhook_query_string_reaches_the_receiver(webhook: Webhook) -> None:
    """?token=... belongs to the receiver (never read as apprise options such as method=GET)."""
    url = webhook.url + "/q?token=abc&method=GET"
    assert deliver([NotifyTarget(url, None, ALL)], [event()], {}) == []
    [got] = webhook.received
    assert got.path == "/q?token=abc&method=GET"
    assert got.json()["event"] == "granted"
