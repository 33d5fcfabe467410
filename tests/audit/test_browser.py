"""The HTML report in a real headless browser (Chromium), on a history of a few hundred grants:
a screenshot (kept where JITCTL_SCREENSHOT_DIR says, to look at), the bars drawn, and the
access-window table's inline script filtering and sorting."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.formats.grantfile import format_grant
from tests.factories import EXAMPLE_CATALOG_TEXT
from tests.gitutil import Repo
from tests.signing import AUDIT_SECTION, SIGNERS_PATH, make_signer

START = datetime(2026, 10, 1, tzinfo=UTC)
N = 300
PRINCIPALS = [f"user{i}@example.com" for i in range(12)]
ENTITLEMENTS = ["aws-prod-readonly", "gcp-prod-logs-viewer", "azure-prod-contributor"]


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def build(repo: Repo, allowed: str) -> None:
    """N grants over October (one fast-import): an hour or a few days each, some removed late,
    user0 with many short windows; then one signed jitctl-style merge on top."""
    out = [b"commit refs/heads/main\nmark :1\n"]
    ts = int(START.timestamp())
    out.append(
        f"author P <p@example.com> {ts} +0000\ncommitter P <p@example.com> {ts} +0000\n".encode()
    )
    out.append(_data("catalog"))
    for path, text in (
        ("catalog.yaml", EXAMPLE_CATALOG_TEXT + AUDIT_SECTION),
        (SIGNERS_PATH, allowed),
        ("grants/.gitkeep", ""),
    ):
        out.append(f"M 100644 inline {path}\n".encode() + _data(text))
    mark, events = 1, []
    for i in range(N):
        principal = PRINCIPALS[0] if i % 4 == 0 else PRINCIPALS[1 + i % 11]
        granted = START + timedelta(hours=2 * i + (i % 3))
        length = timedelta(hours=1) if i % 4 == 0 else timedelta(hours=4 + (i % 5) * 12)
        removed = granted + length + (timedelta(hours=6) if i % 17 == 0 else timedelta(minutes=3))
        gid = f"g{i:03d}"
        text = format_grant(
            principal=principal,
            entitlement=ENTITLEMENTS[i % 3],
            expires_at=granted + length,
            reason=f"INC-{i}",
        )
        msg = f"Request {gid}\n\nJit-Kind: request\nJit-Grant: {gid}\nRequested-by: alice\n"
        events.append((granted, f"M 100644 inline grants/{gid}.hcl\n".encode() + _data(text), msg))
        exp = f"Expire\n\nJit-Kind: expiry\nExpired-Grant: {gid} x\n"
        events.append((removed, f"D grants/{gid}.hcl\n".encode(), exp))
    for when, op, msg in sorted(events, key=lambda e: e[0]):
        mark += 1
        t = int(when.timestamp())
        out.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        out.append(
            f"author A <a@example.com> {t} +0000\ncommitter A <a@example.com> {t} +0000\n".encode()
        )
        out.append(_data(msg + "Approved-by: carol\n"))
        out.append(b"from :%d\n" % (mark - 1))
        out.append(op + b"\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=repo.path, input=b"".join(out), check=True
    )
    repo.git("reset", "-q", "--hard", "main")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise AssertionError(
            "Chromium is missing: scripts/bootstrap installs the Debian package chromium "
            "(apt-get install chromium); this test needs a real browser"
        )
    return found


def browse(page: Path, *args: str, fragment: str = "") -> str:
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", f"--user-data-dir={page.parent / 'chromium-profile'}",
         *args, page.as_uri() + fragment],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB(A) rows of an 8-bit PNG (unfiltered)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[i] for i in range(stride) if i % bpp < 3))
        prev = line
    return width, height, rows


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._in = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._in = a.get("id") == "windows"
        if self._in and tag == "tr" and self.rows is not None:
            self.rows.append((a.get("style") or "", []))
        if self._in and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in = False
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_report_in_a_real_browser(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys", "jitctl@example.com")
    repo = Repo(tmp_path / "r") if False else None
    (tmp_path / "r").mkdir()
    repo = Repo(tmp_path / "r")
    build(repo, signer.allowed())
    page = tmp_path / "audit.html"
    result = CliRunner().invoke(
        main,
        ["--repo", str(repo.path), "--now", "2026-11-01T00:00:00Z", "audit",
         "--since", "2026-10-01", "--until", "2026-10-31", "--format", "html", "--out", str(page)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # the history's grants are unproven
    assert f"{N} window(s)" in result.stderr or "window(s)" in result.stderr

    # the script ran: the count, a filter from the link, a sort from the link
    dom = browse(page, "--dump-dom")
    assert f'<span id="shown" class="count">{N} of {N} window(s)</span>' in dom
    dom = browse(page, "--dump-dom", fragment="#filter=user0%40&sort=-from")
    parser = _Rows()
    parser.feed(dom)
    rows = [cells for style, cells in parser.rows if cells]
    shown = [cells for style, cells in parser.rows if cells and "none" not in style]
    assert len(rows) == N and len(shown) == N // 4
    assert all(c[0] == "user0@example.com" for c in shown)
    froms = [c[2] for c in shown]
    assert froms == sorted(froms, reverse=True)
    assert re.search(r'id="shown" class="count">75 of 300 window', dom)

    # the screenshot: bars drawn, amber (not proven) and red (removed late) among them
    shot = tmp_path / "audit.png"
    browse(page, f"--screenshot={shot}", "--window-size=1440,2400", "--hide-scrollbars")
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1440, 2400)
    counts = {"amber": 0, "red": 0}
    for line in pixels:
        counts["amber"] += line.count(bytes((0xBF, 0x87, 0x00)))
        counts["red"] += line.count(bytes((0xCF, 0x22, 0x2E)))
    keep_shot = os.environ.get("JITCTL_SCREENSHOT_DIR")
    if keep_shot:
        shutil.copy(shot, Path(keep_shot) / "audit-top.png")
    assert counts["amber"] > 1000 and counts["red"] > 100, counts
    keep = os.environ.get("JITCTL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "audit.png")
        shutil.copy(page, Path(keep) / "audit.html")
        browse(page, f"--screenshot={Path(keep) / 'timeline.png'}", "--window-size=1440,6000",
               "--hide-scrollbars")  # fmt: skip


@pytest.mark.parametrize("missing", [True])
def test_png_reader(missing: bool) -> None:
    """The PNG reader used above decodes a known image (so its counts mean something)."""
    raw = b"".join(b"\x00" + bytes((0xBF, 0x87, 0x00)) * 2 for _ in range(2))
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
    png += chunk(b"IEND", b"")
    assert png_pixels(png) == (2, 2, [bytes((0xBF, 0x87, 0x00)) * 2] * 2)
