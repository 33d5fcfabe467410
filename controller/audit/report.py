"""Formats of the audit report: jsonl, csv, Markdown and one self-contained HTML file. Pure.

jsonl and csv carry the event records only, one per line/row, with the stable columns
``COLUMNS`` (documented in the README); md and html put the findings first, then the expiry lag,
then (html) a timeline of the access windows, then the events.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from controller.audit.lifecycles import AuditEvent, AuditReport, Window
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md

COLUMNS: tuple[str, ...] = (
    "event",
    "at",
    "grant",
    "lifecycle",
    "principal",
    "entitlement",
    "actor",
    "commit",
    "pr",
    "approvers",
    "expires_at",
    "duration",
    "reason",
    "ticket",
    "unreviewed",
    "jit_kind",
    "previous",
    "lag_seconds",
    "flags",
)


def _ts(value: datetime | None) -> str | None:
    return format_rfc3339(value) if value is not None else None


def event_dict(e: AuditEvent) -> dict[str, Any]:
    """One event as a JSON object with exactly ``COLUMNS`` as keys (in that order)."""
    return {
        "event": e.event.value,
        "at": format_rfc3339(e.at),
        "grant": e.grant,
        "lifecycle": e.lifecycle,
        "principal": e.principal,
        "entitlement": e.entitlement,
        "actor": e.actor,
        "commit": e.commit,
        "pr": e.pr,
        "approvers": list(e.approvers),
        "expires_at": _ts(e.expires_at),
        "duration": format_duration(e.duration) if e.duration else None,
        "reason": e.reason,
        "ticket": e.ticket,
        "unreviewed": e.unreviewed,
        "jit_kind": e.jit_kind,
        "previous": e.previous,
        "lag_seconds": e.lag_seconds,
        "flags": list(e.flags),
    }


def to_jsonl(report: AuditReport) -> str:
    return "".join(
        json.dumps(event_dict(e), ensure_ascii=False, separators=(",", ":")) + "\n"
        for e in report.events
    )


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_csv(report: AuditReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for e in report.events:
        d = event_dict(e)
        w.writerow([_cell(d[c]) for c in COLUMNS])
    return buf.getvalue()


def _dur(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "-"


def _period(report: AuditReport) -> str:
    since = _ts(report.since) or "the first commit"
    return f"{since} to {format_rfc3339(report.until)}"


def _lag_line(report: AuditReport) -> str:
    lag = report.lag
    return (
        f"{lag.count} grant file(s) removed at or after expires_at; "
        f"{lag.late} later than {format_duration(report.late_after)}; "
        f"lag p50 {_dur(lag.p50)}, p95 {_dur(lag.p95)}, max {_dur(lag.max)}"
    )


def to_markdown(report: AuditReport, ref: str = "") -> str:
    """A GitHub job summary: findings first, then the expiry lag, then every event."""
    out = [
        "## jitctl audit",
        "",
        f"Period {_period(report)}"
        + (f", ref `{md(ref)}`" if ref else "")
        + f": {len(report.events)} event(s), {len(report.windows)} access window(s).",
        "",
        f"### Findings ({len(report.warnings)} warning(s))",
        "",
    ]
    if report.findings:
        out += ["| severity | rule | grant | principal | entitlement | at | message |"]
        out += ["|---|---|---|---|---|---|---|"]
        for f in report.findings:
            out.append(
                f"| {f.severity} | `{f.rule}` | {md(f.grant)} | {md(f.principal)} "
                f"| {md(f.entitlement)} | {format_rfc3339(f.at)} | {md(f.message)} |"
            )
    else:
        out.append("No findings.")
    out += ["", "### Expiry lag", "", _lag_line(report), "", "### Events", ""]
    if report.events:
        out += [
            "| at | event | grant | principal | entitlement | actor | approvers | PR "
            "| expires_at | commit | flags |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in report.events:
            out.append(
                f"| {format_rfc3339(e.at)} | {e.event.value}{' (unreviewed)' * e.unreviewed} "
                f"| {md(e.grant)} | {md(e.principal)} | {md(e.entitlement)} | {md(e.actor)} "
                f"| {md(', '.join(e.approvers))} | {e.pr or ''} | {_ts(e.expires_at) or ''} "
                f"| `{e.commit[:12]}` | {md(' '.join(e.flags))} |"
            )
    else:
        out.append("No events in the period.")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f23}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:2px 6px;
text-align:left;vertical-align:top}th{background:#f6f8fa}.warning{color:#9a6700}
.info{color:#57606a}svg text{font:11px system-ui,sans-serif}
rect.window{fill:#2f81f7}rect.window.unreviewed{fill:#bf8700}rect.lag{fill:#cf222e}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
"""

_LABEL_W = 240
_PLOT_W = 900
_ROW_H = 14
_PAD = 4


def _lanes(windows: Sequence[Window]) -> list[tuple[str, list[list[Window]]]]:
    """Per principal, the windows packed into rows so that none overlap in a row."""
    by_principal: dict[str, list[Window]] = {}
    for w in windows:
        by_principal.setdefault(w.principal, []).append(w)
    lanes = []
    for principal in sorted(by_principal):
        rows: list[list[Window]] = []
        ends: list[datetime] = []
        for w in sorted(by_principal[principal], key=lambda w: w.granted_at):
            end = max(w.ended_at or w.expires_at, w.expires_at)
            for i, last in enumerate(ends):
                if last <= w.granted_at:
                    rows[i].append(w)
                    ends[i] = end
                    break
            else:
                rows.append([w])
                ends.append(end)
        lanes.append((principal, rows))
    return lanes


def _timeline(report: AuditReport) -> str:
    windows = report.windows
    if not windows:
        return "<p>No access windows in the period.</p>"
    t0 = report.since or min(w.granted_at for w in windows)
    t1 = report.until
    span = max((t1 - t0).total_seconds(), 1.0)

    def x(t: datetime) -> float:
        s = min(max((t - t0).total_seconds(), 0.0), span)
        return _LABEL_W + _PLOT_W * s / span

    parts: list[str] = []
    y = 20
    for principal, rows in _lanes(windows):
        parts.append(
            f'<text x="4" y="{y + _ROW_H - 3}" class="principal">{escape(principal)}</text>'
        )
        for row in rows:
            for w in row:
                end = w.ended_at or t1
                bar_end = min(end, w.expires_at)
                x1, x2 = x(w.granted_at), x(bar_end)
                cls = "window unreviewed" if w.unreviewed else "window"
                tip = (
                    f"{w.grant}: {w.principal} -> {w.entitlement}, granted "
                    f"{format_rfc3339(w.granted_at)}, expires {format_rfc3339(w.expires_at)}, "
                    + (
                        f"{w.end} {format_rfc3339(w.ended_at)}"
                        if w.ended_at is not None
                        else "still on the branch"
                    )
                )
                parts.append(
                    f'<rect class="{cls}" x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 1.0):.1f}" '
                    f'height="{_ROW_H - 2}" data-lifecycle="{escape(w.lifecycle)}">'
                    f"<title>{escape(tip)}</title></rect>"
                )
                if end > w.expires_at:
                    lx1, lx2 = x(w.expires_at), x(end)
                    parts.append(
                        f'<rect class="lag" x="{lx1:.1f}" y="{y}" '
                        f'width="{max(lx2 - lx1, 1.0):.1f}" height="{_ROW_H - 2}">'
                        f"<title>{escape(f'{w.grant}: removed {format_duration(end - w.expires_at)} after expires_at')}</title></rect>"  # noqa: E501
                    )
            y += _ROW_H
        y += _PAD
    height = y + 20
    axis = (
        f'<text x="{_LABEL_W}" y="12">{escape(format_rfc3339(t0))}</text>'
        f'<text x="{_LABEL_W + _PLOT_W}" y="12" text-anchor="end">'
        f"{escape(format_rfc3339(t1))}</text>"
        f'<line x1="{_LABEL_W}" y1="16" x2="{_LABEL_W + _PLOT_W}" y2="16" stroke="#8c959f"/>'
    )
    return (
        f'<svg width="{_LABEL_W + _PLOT_W + 10}" '
        f'height="{height}" role="img" aria-label="access windows per principal">'
        f"{axis}{''.join(parts)}</svg>"
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: AuditReport, ref: str = "") -> str:
    """One self-contained HTML file: no external resources, every user text escaped."""
    e = escape
    findings = _table(
        ("severity", "rule", "grant", "principal", "entitlement", "at", "commit", "message"),
        [
            (
                f'<span class="{e(f.severity)}">{e(f.severity)}</span>',
                e(f.rule),
                e(f.grant),
                e(f.principal),
                e(f.entitlement),
                e(format_rfc3339(f.at)),
                e((f.commit or "")[:12]),
                e(f.message),
            )
            for f in report.findings
        ],
    )
    events = _table(
        (
            "at",
            "event",
            "grant",
            "principal",
            "entitlement",
            "actor",
            "approvers",
            "PR",
            "expires_at",
            "reason",
            "ticket",
            "commit",
            "flags",
        ),
        [
            (
                e(format_rfc3339(ev.at)),
                e(ev.event.value) + (" <em>(unreviewed)</em>" if ev.unreviewed else ""),
                e(ev.grant),
                e(ev.principal),
                e(ev.entitlement),
                e(ev.actor),
                e(", ".join(ev.approvers)),
                e(str(ev.pr or "")),
                e(_ts(ev.expires_at) or ""),
                e(ev.reason or ""),
                e(ev.ticket or ""),
                e(ev.commit[:12]),
                e(" ".join(ev.flags)),
            )
            for ev in report.events
        ],
    )
    ref_text = f", ref <code>{e(ref)}</code>" if ref else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>jitctl audit</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>jitctl audit</h1>"
        f"<p>Period {e(_period(report))}{ref_text}: {len(report.events)} event(s), "
        f"{len(report.windows)} access window(s).</p>"
        f"<h2>Findings ({len(report.warnings)} warning(s))</h2>"
        + (findings if report.findings else "<p>No findings.</p>")
        + f"<h2>Expiry lag</h2><p>{e(_lag_line(report))}</p>"
        "<h2>Access windows per principal</h2>"
        '<p class="legend"><span style="background:#2f81f7"></span>granted to expires_at'
        '<span style="background:#bf8700"></span>unreviewed'
        '<span style="background:#cf222e"></span>after expires_at until removed</p>'
        + _timeline(report)
        + "<h2>Events</h2>"
        + (events if report.events else "<p>No events in the period.</p>")
        + "</body></html>\n"
    )
