"""Escaping user text for Markdown (PR comments, job summaries, reports)."""

from __future__ import annotations

import html


def md(text: str) -> str:
    """Escape user text for a Markdown table cell or line (no HTML, no links, no mentions)."""
    out = html.escape(text, quote=True)
    for ch in "\\`*_[]|<>#!~":
        out = out.replace(ch, "\\" + ch)
    return out.replace("@", "@\u200b").replace("\n", " ")
