"""Formats of the audit report: jsonl, csv, OCSF, Markdown and one self-contained HTML file.
Pure.

jsonl and csv carry the event records only, one per line/row, with the stable columns
``COLUMNS`` (documented in docs/audit.md); ocsf one OCSF event per audit event; md and html put
the findings first (errors, then warnings), then the access windows, the expiry lag, (html) a
timeline, then the events.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from controller.audit.lifecycles import RULES, AuditEvent, AuditReport, EventKind, Window
from controller.core.times import format_duration, format_rfc3339
from controller.formats.markdown import md_code

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
    "reason",
    "ticket",
    "unreviewed",
    "jit_kind",
    "previous",
    "lag_seconds",
    "flags",
    "proven",
    "proof",
    "duration",
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
        "reason": e.reason,
        "ticket": e.ticket,
        "unreviewed": e.unreviewed,
        "jit_kind": e.jit_kind,
        "previous": e.previous,
        "lag_seconds": e.lag_seconds,
        "flags": list(e.flags),
        "proven": e.proven,
        "proof": e.proof,
        "duration": format_duration(e.duration) if e.duration else None,
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


def _windows_rows(report: AuditReport) -> list[dict[str, str]]:
    """The access-window table: one row per window, as text."""
    rows = []
    for w in sorted(report.windows, key=lambda w: (w.granted_at, w.principal, w.lifecycle)):
        removed = f"{format_rfc3339(w.ended_at)} ({w.end})" if w.ended_at is not None else "not yet"
        rows.append(
            {
                "principal": w.principal,
                "entitlement": w.entitlement,
                "from": format_rfc3339(w.granted_at),
                "expires_at": format_rfc3339(w.expires_at),
                "removed": removed,
                "requested by": w.requested_by or "",
                "approved by": ", ".join(w.approved_by),
                "PR": ", ".join(f"#{n}" for n in w.prs),
                "proven": "yes" if w.proven else "NO",
                "grant": w.grant,
            }
        )
    return rows


WINDOW_HEAD = (
    "principal",
    "entitlement",
    "from",
    "expires_at",
    "removed",
    "requested by",
    "approved by",
    "PR",
    "proven",
    "grant",
)


def to_markdown(report: AuditReport, ref: str = "") -> str:
    """A GitHub job summary: findings first, then the access windows, the lag, every event.

    Every user value is an inline code span: exactly its text (copy it and it matches), never
    a mention, a link or HTML."""
    c = md_code
    out = [
        "## jitctl audit",
        "",
        f"Period {_period(report)}"
        + (f", ref {c(ref)}" if ref else "")
        + f": {len(report.events)} event(s), {len(report.windows)} access window(s).",
        "",
        f"### Findings ({len(report.errors)} error(s), {len(report.warnings)} warning(s))",
        "",
    ]
    if report.findings:
        out += ["| severity | rule | grant | principal | entitlement | at | commit | message |"]
        out += ["|---|---|---|---|---|---|---|---|"]
        for f in report.findings:
            out.append(
                f"| {f.severity} | {c(f.rule)} | {c(f.grant)} | {c(f.principal)} "
                f"| {c(f.entitlement)} | {format_rfc3339(f.at)} | {c((f.commit or '')[:12])} "
                f"| {c(f.message)} |"
            )
    else:
        out.append("No findings.")
    out += ["", "### Access windows", ""]
    rows = _windows_rows(report)
    if rows:
        out += ["| " + " | ".join(WINDOW_HEAD) + " |", "|" + "---|" * len(WINDOW_HEAD)]
        for r in rows:
            out.append("| " + " | ".join(c(r[h]) for h in WINDOW_HEAD) + " |")
    else:
        out.append("No access windows in the period.")
    out += ["", "### Expiry lag", "", _lag_line(report), "", "### Events", ""]
    if report.events:
        out += [
            "| at | event | grant | principal | entitlement | actor | approvers | PR "
            "| expires_at | commit | proof | flags |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in report.events:
            out.append(
                f"| {format_rfc3339(e.at)} | {e.event.value}{' (unreviewed)' * e.unreviewed} "
                f"| {c(e.grant)} | {c(e.principal)} | {c(e.entitlement)} | {c(e.actor)} "
                f"| {c(', '.join(e.approvers))} | {e.pr or ''} | {_ts(e.expires_at) or ''} "
                f"| {c(e.commit[:12])} | {c(e.proof or 'unproven')} | {c(' '.join(e.flags))} |"
            )
    else:
        out.append("No events in the period.")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- OCSF

OCSF_VERSION = "1.7.0"
_OCSF_CLASS = 3005  # User Access Management (category 3, Identity & Access Management)
_OCSF_ACTIVITY = {
    EventKind.GRANTED: (1, "Assign Privileges"),
    EventKind.EXTENDED: (1, "Assign Privileges"),
    EventKind.REVOKED: (2, "Revoke Privileges"),
    EventKind.EXPIRED: (2, "Revoke Privileges"),
}


def ocsf_event(e: AuditEvent, ref: str = "", version: str = "") -> dict[str, Any]:
    """One audit event as an OCSF 1.7 User Access Management event (class 3005).

    granted/extended: Assign Privileges (1); revoked/expired: Revoke Privileges (2); requested,
    approved, edited, renamed: Other (99) with ``activity_name`` the audit event. The user is
    the principal, the privilege the entitlement; the actor is who did it; the commit, grant,
    lifecycle and proof travel in ``unmapped`` and ``metadata``. An unproven or unapproved
    change is severity High (4) with status Failure, else Informational (1), Success."""
    activity_id, activity_name = _OCSF_ACTIVITY.get(e.event, (99, e.event.value))
    bad = e.unreviewed or bool(e.flags)
    severity_id = 4 if bad else 1
    millis = int(e.at.timestamp() * 1000)
    event: dict[str, Any] = {
        "class_uid": _OCSF_CLASS,
        "class_name": "User Access Management",
        "category_uid": 3,
        "category_name": "Identity & Access Management",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": _OCSF_CLASS * 100 + activity_id,
        "type_name": f"User Access Management: {activity_name}",
        "time": millis,
        "severity_id": severity_id,
        "severity": "High" if bad else "Informational",
        "status_id": 2 if bad else 1,
        "status": "Failure" if bad else "Success",
        "message": f"{e.event.value} {e.entitlement} for {e.principal} ({e.grant})",
        "metadata": {
            "version": OCSF_VERSION,
            "uid": f"{e.commit}:{e.lifecycle}:{e.event.value}:{e.actor}",
            "correlation_uid": e.lifecycle,
            "logged_time": millis,
            "product": {
                "name": "jitctl",
                "vendor_name": "jitctl",
                "feature": {"name": "audit"},
                **({"version": version} if version else {}),
            },
            **({"labels": list(e.flags)} if e.flags else {}),
        },
        "user": {
            "name": e.principal,
            **({"email_addr": e.principal} if "@" in e.principal else {}),
        },
        "privileges": [e.entitlement],
        "actor": {"user": {"name": e.actor}},
        "resource": {"name": e.entitlement, "type": "entitlement", "uid": e.grant},
        "unmapped": {
            "commit": e.commit,
            "grant": e.grant,
            "lifecycle": e.lifecycle,
            "ref": ref,
            "pr": e.pr,
            "approvers": list(e.approvers),
            "expires_at": _ts(e.expires_at),
            "reason": e.reason,
            "ticket": e.ticket,
            "unreviewed": e.unreviewed,
            "proven": e.proven,
            "proof": e.proof,
            "jit_kind": e.jit_kind,
            "lag_seconds": e.lag_seconds,
            "flags": list(e.flags),
        },
    }
    return event


def to_ocsf(report: AuditReport, ref: str = "", version: str = "") -> str:
    """One OCSF event per audit event, one JSON object per line (for a SIEM)."""
    return "".join(
        json.dumps(ocsf_event(e, ref, version), ensure_ascii=False, separators=(",", ":")) + "\n"
        for e in report.events
    )


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f23}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:2px 6px;
text-align:left;vertical-align:top}th{background:#f6f8fa}.error{color:#cf222e;font-weight:600}
.warning{color:#9a6700}.info{color:#57606a}svg text{font:11px system-ui,sans-serif}
rect.window{fill:#2f81f7}rect.window.unreviewed{fill:#bf8700}rect.lag{fill:#cf222e}
text.bar{fill:#1b1f23}line.tick{stroke:#d0d7de}text.tick{fill:#57606a}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";
color:#8c959f}td.no{background:#ffebe9;color:#cf222e;font-weight:600}
#filter{width:24em;padding:3px}.count{color:#57606a;margin-left:1em}
.scroll{max-height:30em;overflow:auto;display:inline-block;border:1px solid #d0d7de}
.scroll table{margin:0}.scroll th{position:sticky;top:0}
"""

# Sorting and filtering of the access-window table, without a server or any external resource.
_SCRIPT = """
(function(){
var t=document.getElementById('windows');if(!t)return;
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows),
heads=Array.prototype.slice.call(t.tHead.rows[0].cells),
f=document.getElementById('filter'),n=document.getElementById('shown');
function show(){var q=(f.value||'').toLowerCase(),k=0;rows.forEach(function(r){
var on=r.textContent.toLowerCase().indexOf(q)>=0;r.style.display=on?'':'none';if(on)k++;});
n.textContent=k+' of '+rows.length+' window(s)';}
function sortBy(i,d){heads.forEach(function(o){o.removeAttribute('data-dir');});
heads[i].setAttribute('data-dir',d>0?'asc':'desc');
rows.sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent;
return x<y?-d:x>y?d:0;});rows.forEach(function(r){body.appendChild(r);});}
f.addEventListener('input',show);
heads.forEach(function(th,i){th.addEventListener('click',function(){
sortBy(i,th.getAttribute('data-dir')==='asc'?-1:1);});});
/* a link can carry the view: #filter=TEXT&sort=COLUMN (or sort=-COLUMN: descending) */
location.hash.replace(/^#/,'').split('&').forEach(function(kv){var p=kv.split('=');
var v=decodeURIComponent((p[1]||'').replace(/[+]/g,' '));if(p[0]==='filter')f.value=v;
if(p[0]==='sort'){var d=v.charAt(0)==='-'?-1:1,c=v.replace(/^-/,'');
heads.forEach(function(th,i){if(th.textContent===c)sortBy(i,d);});}});
show();})();
"""

_LABEL_W = 240
_PLOT_W = 900
_ROW_H = 16
_PAD = 6
_MIN_BAR = 4.0  # px: a window of an hour in a month still shows
_CHAR_W = 6.2  # px per character of an 11px label (to keep labels from overlapping)


def _ticks(t0: datetime, t1: datetime, x: Any) -> str:
    """A few dated ticks along the axis."""
    span = (t1 - t0).total_seconds()
    out = []
    for i in range(5):
        at = t0 + timedelta(seconds=span * i / 4)
        xi = x(at)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(
            f'<line class="tick" x1="{xi:.1f}" y1="16" x2="{xi:.1f}" y2="100%"/>'
            f'<text class="tick" x="{xi:.1f}" y="12" text-anchor="{anchor}">'
            f"{escape(format_rfc3339(at)[:16].replace('T', ' '))}</text>"
        )
    return "".join(out)


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

    by_principal: dict[str, list[Window]] = {}
    for w in windows:
        by_principal.setdefault(w.principal, []).append(w)
    parts: list[str] = []
    y = 22
    for principal in sorted(by_principal):
        # pack this principal's windows into rows by pixel extent, label included, so neither
        # bars nor labels overlap however many windows the principal has
        rows: list[float] = []
        placed: list[tuple[int, Window, float, float, float]] = []
        for w in sorted(by_principal[principal], key=lambda w: (w.granted_at, w.lifecycle)):
            end = w.ended_at or t1
            x1 = x(w.granted_at)
            x2 = max(x(min(end, w.expires_at)), x1 + _MIN_BAR)
            lx2 = max(x(end), x2) if end > w.expires_at else x2
            extent = lx2 + 4 + _CHAR_W * len(w.entitlement) + 8
            for i, free in enumerate(rows):
                if free <= x1:
                    rows[i] = extent
                    break
            else:
                rows.append(extent)
                i = len(rows) - 1
            placed.append((i, w, x1, x2, lx2))
        parts.append(
            f'<text x="4" y="{y + _ROW_H - 4}" class="principal">{escape(principal)}</text>'
        )
        for i, w, x1, x2, lx2 in placed:
            ry = y + i * _ROW_H
            cls = "window unreviewed" if w.unreviewed else "window"
            tip = (
                f"{w.grant}: {w.principal} -> {w.entitlement}, granted "
                f"{format_rfc3339(w.granted_at)}, expires {format_rfc3339(w.expires_at)}, "
                + (
                    f"{w.end} {format_rfc3339(w.ended_at)}"
                    if w.ended_at is not None
                    else "still on the branch"
                )
                + ("" if w.proven else " (NOT proven)")
            )
            parts.append(
                f'<rect class="{cls}" x="{x1:.1f}" y="{ry}" width="{x2 - x1:.1f}" '
                f'height="{_ROW_H - 3}" data-lifecycle="{escape(w.lifecycle)}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if lx2 > x2:
                lag = (w.ended_at or t1) - w.expires_at
                parts.append(
                    f'<rect class="lag" x="{x2:.1f}" y="{ry}" width="{lx2 - x2:.1f}" '
                    f'height="{_ROW_H - 3}"><title>'
                    f"{escape(f'{w.grant}: removed {format_duration(lag)} after expires_at')}"
                    "</title></rect>"
                )
            parts.append(
                f'<text class="bar" x="{lx2 + 4:.1f}" y="{ry + _ROW_H - 5}">'
                f"{escape(w.entitlement)}</text>"
            )
        y += max(len(rows), 1) * _ROW_H + _PAD
    height = y + 10
    axis = (
        f'<line x1="{_LABEL_W}" y1="16" x2="{_LABEL_W + _PLOT_W}" y2="16" stroke="#8c959f"/>'
        + _ticks(t0, t1, x)
    )
    width = _LABEL_W + _PLOT_W + 240
    return (
        f'<svg width="{width}" height="{height}" role="img" '
        f'aria-label="access windows per principal">{axis}{"".join(parts)}</svg>'
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _windows_html(report: AuditReport) -> str:
    rows = _windows_rows(report)
    if not rows:
        return "<p>No access windows in the period.</p>"
    e = escape
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="no">{e(r[h])}</td>'
            if h == "proven" and r[h] != "yes"
            else f"<td>{e(r[h])}</td>"
            for h in WINDOW_HEAD
        )
        + "</tr>"
        for r in rows
    )
    th = "".join(f"<th>{e(h)}</th>" for h in WINDOW_HEAD)
    return (
        '<p><input id="filter" type="search" placeholder="filter: principal, entitlement, '
        'approver, PR..." aria-label="filter the access windows">'
        '<span id="shown" class="count"></span></p>'
        f'<div class="scroll"><table id="windows" class="sortable"><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def to_html(report: AuditReport, ref: str = "") -> str:
    """One self-contained HTML file: no external resources, every user text escaped; one
    inline script sorts and filters the access-window table."""
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
            "proof",
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
                e(ev.proof or "unproven"),
                e(" ".join(ev.flags)),
            )
            for ev in report.events
        ],
    )
    ref_text = f", ref <code>{e(ref)}</code>" if ref else ""
    many = len(report.findings) > 20
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>jitctl audit</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>jitctl audit</h1>"
        f"<p>Period {e(_period(report))}{ref_text}: {len(report.events)} event(s), "
        f"{len(report.windows)} access window(s).</p>"
        f"<h2>Findings ({len(report.errors)} error(s), {len(report.warnings)} warning(s))</h2>"
        + (_summary_html(report) if report.findings else "<p>No findings.</p>")
        + "<h2>Access windows</h2>"
        + _windows_html(report)
        + "<h2>Timeline per principal</h2>"
        '<p class="legend"><span style="background:#2f81f7"></span>granted to expires_at'
        '<span style="background:#bf8700"></span>not proven or not approved'
        '<span style="background:#cf222e"></span>after expires_at until removed</p>'
        + _timeline(report)
        + f"<h2>Expiry lag</h2><p>{e(_lag_line(report))}</p>"
        + (
            f'<details{"" if many else " open"}><summary><h2 style="display:inline">'
            f"Every finding ({len(report.findings)})</h2></summary>{findings}</details>"
            if report.findings
            else ""
        )
        + f"<details{' open' if len(report.events) <= 200 else ''}><summary>"
        f'<h2 style="display:inline">Events ({len(report.events)})</h2></summary>'
        + (events if report.events else "<p>No events in the period.</p>")
        + "</details>"
        + f"<script>{_SCRIPT}</script>"
        + "</body></html>\n"
    )


def _summary_html(report: AuditReport) -> str:
    """Findings at a glance: one line per rule, errors first, with its count and meaning."""
    counts: dict[tuple[str, str], int] = {}
    for f in report.findings:
        counts[(f.severity, f.rule)] = counts.get((f.severity, f.rule), 0) + 1
    rows = [
        (
            f'<span class="{escape(sev)}">{escape(sev)}</span>',
            escape(rule),
            str(n),
            escape(RULES.get(rule, "")),
        )
        for (sev, rule), n in counts.items()  # findings are already ranked
    ]
    return _table(("severity", "rule", "count", "meaning"), rows)
