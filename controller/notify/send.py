"""Deliver notification events through apprise (Slack, Microsoft Teams, email, generic JSON
webhooks and about a hundred more), behind one small interface: :func:`deliver`.

A target's URL is either in the catalog (``url``, never a secret) or in an environment variable
(``url_env``). An ``http://``/``https://`` URL that apprise recognises as a service's own
webhook (Slack, Teams, Discord, ...) goes to that service as text; any other ``http(s)`` URL is a
generic JSON webhook and receives :meth:`Event.body` exactly, one POST per event (apprise's
``json://`` service with its own keys removed). Any other scheme is an apprise URL
(``slack://``, ``msteams://``, ``mailto://``, ...).

A delivery is attempted once (apprise does not retry, so nothing is ever sent twice) with a
timeout; a failure is returned as a value, never raised: a notification never fails or undoes
the access change it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from controller.core.model import NotifyTarget
from controller.notify.events import Event

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Failure:
    """A notification that did not arrive: which target (never its secret URL), which event."""

    target: str
    event: str
    grant: str
    why: str

    def text(self) -> str:
        what = f"{self.event} {self.grant}".strip()
        return f"notification {what} to {self.target} failed: {self.why}"


def deliver(
    targets: Sequence[NotifyTarget],
    events: Sequence[Event],
    environ: Mapping[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Failure]:
    """Send every event to every target subscribed to it. Returns the failures."""
    failures: list[Failure] = []
    if not targets or not events:
        return failures
    for target in targets:
        wanted = [e for e in events if e.event in target.events]
        if not wanted:
            continue
        url = target.url
        if target.url_env is not None:
            url = environ.get(target.url_env, "").strip() or None
            if url is None:
                failures += [
                    Failure(target.name, e.event, e.grant, f"{target.url_env} is not set")
                    for e in wanted
                ]
                continue
        assert url is not None
        for event in wanted:
            why = _send_one(url, event, timeout)
            if why is not None:
                failures.append(Failure(target.name, event.event, event.grant, _redact(why, url)))
    return failures


def _send_one(url: str, event: Event, timeout: float) -> str | None:
    """Send one event; None when it arrived, else why not (one line)."""
    import apprise

    level = logging.WARNING
    try:
        with apprise.LogCapture(level=level, fmt="%(message)s"):  # type: ignore[no-untyped-call]
            made = _service(url, event, timeout)  # (recognising a URL logs its misses)
        if isinstance(made, str):
            return made
        plugin, body = made
        with apprise.LogCapture(level=level, fmt="%(message)s") as logs:  # type: ignore[no-untyped-call]
            ok = plugin.notify(body=body, title=event.title())
    except Exception as exc:  # a notification must never break the lifecycle
        return f"{type(exc).__name__}: {exc}"
    if ok:
        return None
    lines = [ln.strip() for ln in logs.getvalue().splitlines() if ln.strip()]
    return lines[-1] if lines else "not delivered"


def _service(url: str, event: Event, timeout: float) -> tuple[Any, str] | str:
    """The apprise service for ``url`` and the body to give it, or why there is none."""
    import apprise
    from apprise.plugins.custom_json import NotifyJSON

    scheme = urlsplit(url).scheme.lower()
    limits: dict[str, Any] = {"cto": timeout, "rto": timeout}
    if scheme in ("http", "https"):
        native = apprise.Apprise.instantiate(url)
        if native is not None:  # a service's own webhook URL (Slack, Teams, Discord, ...)
            _limit(native, timeout)
            return native, event.text()
        parts = urlsplit(url)
        # the query is the receiver's, not apprise options: pass it on as request parameters
        json_url = ("jsons" if scheme == "https" else "json") + parts._replace(query="").geturl()[
            len(scheme) :
        ]
        parsed: dict[str, Any] | None = NotifyJSON.parse_url(json_url)  # type: ignore[no-untyped-call]
        if not parsed:
            return "not a valid URL"
        parsed["params"] = dict(parse_qsl(parts.query, keep_blank_values=True))
        # apprise's own keys removed (an empty value removes a key); the body is ours, exactly
        payload: dict[str, Any] = {k: "" for k in _APPRISE_JSON_KEYS}
        payload.update(event.body())
        parsed.update(limits, payload=payload)
        plugin = apprise.Apprise.instantiate(parsed)
        if plugin is None:
            return "not a valid webhook URL"
        return plugin, event.text()
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return f"apprise does not support {scheme}:// URLs (or the URL is incomplete)"
    _limit(plugin, timeout)
    return plugin, event.text()


_APPRISE_JSON_KEYS = ("version", "title", "message", "attachments", "type")


def _limit(plugin: Any, timeout: float) -> None:
    """Apply the connect and read timeouts to a service built from a URL."""
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout


def _redact(text: str, url: str) -> str:
    """Never print a URL (it may be a secret): drop it and its host's path from a message."""
    out = text.replace(url, "<url>")
    path = urlsplit(url).path
    if len(path) > 1:
        out = out.replace(path, "/<path>")
    return " ".join(out.split())[:300]
