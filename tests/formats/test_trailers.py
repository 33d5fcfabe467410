"""controller.formats.trailers: invisible characters never make or prove a trailer."""

from __future__ import annotations

import pytest

from controller.formats.trailers import Message, parse_trailers, visible_trailers

BODY = "Merge jit/request/x\n\nJit-Kind: request\nJit-Grant: alice-ro\nRequested-by: alice\n"


@pytest.mark.parametrize("ch", ["\u200b", "\u202e", "\u2066", "\ufeff", "\u00ad", "\x1b"])
def test_a_trailer_with_an_invisible_character_is_ignored(ch: str) -> None:
    message = BODY + f"Approved-by: carol{ch}\nApproved-by: dave\n"
    assert parse_trailers(message) == (
        ("Jit-Kind", "request"),
        ("Jit-Grant", "alice-ro"),
        ("Requested-by", "alice"),
        ("Approved-by", "dave"),
    )


def test_visible_trailers_keeps_clean_pairs() -> None:
    pairs = [("Approved-by", "carol"), ("Approved\u200b-by", "eve"), ("Jit-Grant", "a\u202eb")]
    assert visible_trailers(pairs) == (("Approved-by", "carol"),)


@pytest.mark.parametrize("value", ["carol\u200b", "a\u202eb", "x\u2028y"])
def test_such_a_trailer_is_never_written(value: str) -> None:
    with pytest.raises(ValueError, match="unsafe trailer"):
        Message("subject", trailers=(("Approved-by", value),)).text()
