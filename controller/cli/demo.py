"""``jitctl demo``: the whole lifecycle in a local sandbox repository, narrated.

No GitHub, no cloud: a fresh git repository with the example catalog, and the real jitctl
commands run against it (in this process), each shown as the command a person would type.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import click

from controller.cli.app import Env, main
from controller.core.errors import JitError
from controller.core.render import describe_cloud_condition
from controller.core.times import format_rfc3339
from controller.formats.catalog import load_catalog

PLATFORM = {"GIT_AUTHOR_NAME": "Platform Team", "GIT_AUTHOR_EMAIL": "platform@example.com"}


def example_catalog_text() -> str:
    return resources.files("controller").joinpath("examples/catalog.yaml").read_text("utf-8")


class Demo:
    def __init__(self, root: Path, now: datetime, run: Callable[[Sequence[str]], tuple[int, str]]):
        self.root = root
        self.now = now
        self.run_cli = run
        self.step_no = 0

    def say(self, text: str) -> None:
        click.echo(text)

    def step(self, title: str) -> None:
        self.step_no += 1
        click.secho(f"\n{self.step_no}. {title}", bold=True)

    def jitctl(self, *args: str, now: datetime | None = None, show: bool = True) -> tuple[int, str]:
        when = now or self.now
        argv = ["--repo", str(self.root), "--now", format_rfc3339(when), *args]
        click.secho("   $ jitctl " + " ".join(shlex.quote(a) for a in argv[2:]), fg="cyan")
        code, out = self.run_cli(argv)
        if show:
            for line in out.rstrip().splitlines():
                click.echo("     " + line)
        click.echo(f"     (exit {code})")
        return code, out

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        full = {**os.environ, **PLATFORM, **(env or {})}
        full.setdefault("GIT_COMMITTER_NAME", "Platform Team")
        full.setdefault("GIT_COMMITTER_EMAIL", "platform@example.com")
        stamp = format_rfc3339(self.now - timedelta(days=1))
        full.setdefault("GIT_AUTHOR_DATE", stamp)
        full.setdefault("GIT_COMMITTER_DATE", stamp)
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=full, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise JitError(f"demo: git {args[0]} failed: {proc.stderr.strip()}", rule="git")
        return proc.stdout


SIGNERS = ".github/jitctl/allowed_signers"


def _signing(d: Demo) -> str:
    """jitctl's own commits in the sandbox are signed with a fresh SSH key (kept in .git), and
    the catalog tells the audit to trust it. Returns the catalog's ``audit`` section."""
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        d.say("     (ssh-keygen is missing: jitctl's merges stay unsigned; the audit will say so)")
        return ""
    key = d.root / ".git" / "jitctl-demo-signing-key"
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "jitctl-demo", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    public = key.with_name(key.name + ".pub").read_text("utf-8").strip()
    signers = d.root / SIGNERS
    signers.parent.mkdir(parents=True, exist_ok=True)
    signers.write_text(f'jitctl-demo@example.com namespaces="git" {public}\n', encoding="utf-8")
    d.git("config", "gpg.format", "ssh")
    d.git("config", "user.signingKey", str(key))
    d.say(f"     jitctl signs its merges with an SSH key; {SIGNERS} lists it for the audit")
    return f"\naudit:\n  signers: {SIGNERS}\n"


def run_demo(
    root: Path | None, now: datetime | None, run: Callable[[Sequence[str]], tuple[int, str]]
) -> Path:
    """Run the demo in ``root`` (a new temporary folder if None). Returns the folder."""
    start = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="jitctl-demo-"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        empty = not any(root.iterdir())
    except OSError as exc:
        raise JitError(
            f"{exc.filename or root}: cannot make the sandbox folder: {exc.strerror}", rule="io"
        ) from None
    if not empty:
        raise JitError(f"{root} is not empty; give --dir a new or empty folder", rule="usage")
    d = Demo(root, start, run)
    click.secho(
        "jitctl demo: just-in-time access, reviewed in git, applied by Terraform", bold=True
    )
    d.say(f"Sandbox repository: {root} (no GitHub, no cloud)")

    d.step("The platform team keeps a catalog of entitlements (AWS, GCP, Azure)")
    d.git("init", "-q", "-b", "main")
    d.git("config", "user.name", "jitctl-bot")
    d.git("config", "user.email", "jitctl-bot@example.com")
    catalog_text = example_catalog_text() + _signing(d)
    (root / "catalog.yaml").write_text(catalog_text, encoding="utf-8")
    (root / "grants").mkdir()
    (root / "grants" / ".gitkeep").write_text("", encoding="utf-8")
    d.git("add", "-A")
    d.git("commit", "-q", "-m", "Access repository: catalog and grants/")
    d.say(f"     {len(load_catalog(example_catalog_text()).entitlements)} entitlements")

    d.step("alice asks what she may request, for how long, and who approves it")
    d.jitctl("entitlements", "--as", "alice")

    d.step("alice asks for read-only access to prod AWS for 4 hours")
    _, out = d.jitctl(
        "request",
        "aws-prod-readonly",
        "--for",
        "4h",
        "--reason",
        "INC-1234: 5xx spike in checkout",
        "--ticket",
        "INC-1234",
        "--as",
        "alice",
        "--local",
        "--format",
        "json",
        show=False,
    )
    proposal = json.loads(out)
    branch, gid = proposal["branch"], proposal["id"]
    d.say(f"     wrote {proposal['path']} on branch {branch}:")
    text = d.git("show", f"{branch}:{proposal['path']}")
    for line in text.splitlines():
        d.say("       " + line)

    d.step("Policy check on the request (what CI runs on the pull request)")
    d.jitctl("check", "--base", "main", "--head", branch, "--author", "alice")

    d.step("Policy refuses what the catalog does not allow: alice asks for prod admin for 8h")
    d.jitctl(
        "request",
        "aws-prod-admin",
        "--for",
        "8h",
        "--reason",
        "just because",
        "--as",
        "alice",
        "--local",
    )

    d.step("alice approves her own request: self-approval never counts")
    d.jitctl("merge", branch, "--local", "--approved-by", "alice")

    d.step("carol (SRE) approves: the request merges, with audit trailers")
    d.jitctl("merge", branch, "--local", "--approved-by", "carol")

    d.step("The grant is active")
    d.jitctl("list")

    d.step("Terraform input: only active grants, each with its own cloud-side expiry")
    _, out = d.jitctl("render", show=False)
    doc = json.loads(out)
    for grant_id, entry in doc["grants"].items():
        d.say(
            f"     {grant_id}: {entry['principal']} -> {entry['entitlement']} "
            f"({entry['module']}) until {entry['expires_at']}"
        )
        d.say(f"       {describe_cloud_condition(entry)}")

    later = start + timedelta(hours=4)
    d.step(f"Four hours later ({format_rfc3339(later)}): the grant has expired")
    d.jitctl("list", now=later)
    d.jitctl("expire", "--local", now=later)
    d.jitctl("expire", "--local", now=later)
    d.jitctl("list", now=later)

    d.step("The trail in git: who asked, who approved, when it began and ended")
    log = d.git("log", "--format=%h %cI %s%n%(trailers:only,unfold)", "main")
    for line in log.rstrip().splitlines():
        if line.strip():
            d.say("     " + line)
    d.step("The audit, rebuilt from git alone (jitctl audit; also csv, md, html)")
    _, out = d.jitctl("audit", "--format", "jsonl", now=later, show=False)
    for line in out.splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            proof = f"proven ({e['proof']})" if e["proven"] else "NOT proven"
            d.say(f"     {e['at']}  {e['event']:<9} {e['grant']}  by {e['actor']}; {proof}")
        elif line.startswith("audit of"):
            d.say("     " + line)

    d.say(f"\nDone. Look around: cd {root} && git log --stat  (grant id: {gid})")
    return root


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to build the sandbox repository (default: a new temporary folder).",
)
@click.pass_obj
def demo(env: Env, directory: Path | None) -> None:
    """Run the whole lifecycle in a local sandbox repository: no GitHub, no cloud.

    alice requests access, the policy check runs, a self-approval is refused, carol approves and
    it merges, render shows the Terraform input and its cloud-side expiry, time passes, expire
    removes the grant, and git log shows the trail.

    Example: jitctl demo --dir /tmp/jitctl-demo
    """

    def run(argv: Sequence[str]) -> tuple[int, str]:
        runner_out = io.StringIO()
        with contextlib.redirect_stdout(runner_out), contextlib.redirect_stderr(runner_out):
            try:
                main.main(args=list(argv), prog_name="jitctl", standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except click.ClickException as exc:
                exc.show()
                code = exc.exit_code
            except click.exceptions.Exit as exc:
                code = exc.exit_code
        return code, runner_out.getvalue()

    now = env.now if env.now_text else None
    run_demo(directory, now, run)
