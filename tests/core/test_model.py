"""controller.core.model: grant_states (columns) says what grant_state says of each grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from controller.core.model import Grant, GrantState, grant_state, grant_states

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_grant_states_agrees_with_grant_state_at_every_edge() -> None:
    second = timedelta(seconds=1)
    plus_one = timezone(timedelta(hours=1))
    times = [
        NOW + 2 * second,
        NOW - second,
        NOW,
        NOW + second,
        NOW.astimezone(plus_one),
        (NOW + second).astimezone(plus_one),
    ]
    grants = [
        Grant("g", "grants/g.hcl", "p", "e", expires, "r", starts)
        for expires in times
        for starts in [None, *times]
        if starts is None or starts < expires
    ]
    states = grant_states([g.expires_at for g in grants], [g.starts_at for g in grants], NOW)
    assert states == [grant_state(g, NOW) for g in grants]
    assert set(states) == set(GrantState)  # every state is reached
