"""The access repository's Terraform: this repository's ``terraform/`` root and ``modules/``, for
the clouds asked only. PURE.

The source is one copy, shipped in the wheel through ``controller/scaffold/upstream/``. The
root keeps its layout (``terraform/`` calling ``../modules/...``), so the workflows run it
unchanged. For a cloud not asked for, :func:`root` leaves out its provider, its
``required_providers`` entry, its module calls and the outputs that read them, and narrows the
``grants`` variable's module check to the modules that remain: a grant for a module the root
does not call fails the plan instead of being silently left unapplied. :func:`module_files`
picks the modules to vendor: the dispatcher (``modules/grants``), every cloud's provider-free
helper it calls (``window/``, ``condition/``, ``schedule/``), and the provider modules of the
clouds asked.

Several accounts, projects and subscriptions need nothing here: ``jitctl render --stacks-dir``
writes one input per target (``aws-<account>``, ``gcp-<project>``, ``azure-<subscription>``), and
each is planned and applied with this root, its own state key and that target's credentials, so
each provider block serves exactly one target (docs/github-setup.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

# cloud -> the provider modules (directory names) and the provider's local name
MODULES = {
    "aws": ("aws-iam-role", "aws-identity-center"),
    "gcp": ("gcp-iam",),
    "azure": ("azure-pim",),
}
PROVIDERS = {"aws": "aws", "gcp": "google", "azure": "azurerm"}
# the provider-free helpers the dispatcher calls, whatever the clouds
HELPERS = ("aws-iam-role/window", "aws-identity-center/window", "gcp-iam/condition",
           "azure-pim/schedule")  # fmt: skip
ALL_MODULES = tuple(m for c in ("aws", "gcp", "azure") for m in MODULES[c])

_TOP = re.compile(r'^(?P<kind>[a-z_]+)(?: "(?P<label>[^"]*)")*\s*\{(?P<closed>\s*\})?\s*$')
_ENTRY = re.compile(r"^(?P<indent>\s+)(?P<name>[a-z0-9_]+) = \{\s*$")


BACKEND_EXAMPLES = {
    "gcs": (
        "# Copy to backend.hcl (not committed) and run:\n"
        "#   terraform init -backend-config=backend.hcl\n"
        "# The workflows pass the same settings; the state of stack S is at <prefix>S/.\n"
        'bucket = "acme-jitctl-state"\n'
        'prefix = "jitctl/gcp-acme-prod"\n'
    ),
    "azurerm": (
        "# Copy to backend.hcl (not committed) and run:\n"
        "#   terraform init -backend-config=backend.hcl\n"
        "# The workflows pass the same settings; stack S keeps its state in <prefix>S.tfstate.\n"
        'storage_account_name = "acmejitctlstate"\n'
        'container_name       = "tfstate"\n'
        'key                  = "jitctl/azure-00000000-0000-4000-8000-000000000000.tfstate"\n'
        "use_oidc             = true\n"
        "use_azuread_auth     = true\n"
    ),
}
_S3_BACKEND = 'backend "s3" {}'


def root(files: Mapping[str, str], clouds: Sequence[str], backend: str = "s3") -> dict[str, str]:
    """``terraform/`` (file name -> text) for ``clouds``, its state in ``backend``."""
    dropped = [c for c in ("aws", "gcp", "azure") if c not in clouds]
    gone_modules = {m for c in dropped for m in MODULES[c]}
    gone_calls = {m.replace("-", "_") for m in gone_modules}
    gone_providers = {PROVIDERS[c] for c in dropped}
    kept = [m for m in ALL_MODULES if m not in gone_modules]
    out: dict[str, str] = {}
    for name, text in files.items():
        if name == "main.tf":
            text = _drop_blocks(
                text,
                lambda kind, label, body: (
                    kind == "module" and any(f'"../modules/{m}"' in body for m in gone_modules)
                ),
            )
        elif name == "providers.tf":
            text = _drop_blocks(
                text, lambda kind, label, body: kind == "provider" and label in gone_providers
            )
        elif name == "outputs.tf":
            text = _drop_blocks(
                text,
                lambda kind, label, body: (
                    kind == "output"
                    and (
                        any(f"module.{c}" in body for c in gone_calls)
                        or ("aws" in dropped and label.startswith("aws_"))
                    )
                ),
            )
        elif name == "versions.tf":
            text = _drop_entries(text, gone_providers)
            if backend != "s3":
                if text.count(_S3_BACKEND) != 1:
                    raise RuntimeError('terraform/versions.tf: no single `backend "s3" {}`')
                text = text.replace(_S3_BACKEND, f'backend "{backend}" {{}}')
        elif name == "variables.tf":
            text = _narrow_modules(text, kept)
        out[name] = text
    return out


def module_files(paths: Iterable[str], clouds: Sequence[str]) -> list[str]:
    """Of the upstream ``modules/`` paths (relative to modules/), those the access repository
    vendors for ``clouds``."""
    chosen = {m for c in clouds for m in MODULES[c]}
    keep = []
    for path in paths:
        top = path.split("/", 1)[0]
        if (
            top == "grants"
            or any(path.startswith(h + "/") for h in HELPERS)
            or (top in chosen and "/" in path)
        ):
            keep.append(path)
    return sorted(keep)


def _blocks(text: str) -> list[tuple[str, str, str, str]]:
    """Top-level pieces of a ``terraform fmt``-ed file: (kind, label, text, leading comments).
    Text between blocks that is not a comment is kept as a piece of kind ''."""
    lines = text.splitlines(keepends=True)
    pieces: list[tuple[str, str, str, str]] = []
    comments: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _TOP.match(line)
        if m:
            end = i if m.group("closed") else i + 1  # `provider "google" {}`: one line
            while end < len(lines) and lines[end].rstrip("\n") != "}" and end != i:
                end += 1
            if end == len(lines):
                raise RuntimeError(f"unterminated block {line.strip()!r}")
            labels = re.findall(r'"([^"]*)"', line)
            pieces.append(
                (m.group("kind"), labels[0] if labels else "", "".join(lines[i : end + 1]),
                 "".join(comments))
            )  # fmt: skip
            comments = []
            i = end + 1
            continue
        if line.startswith("#"):
            comments.append(line)
        else:
            pieces.append(("", "", "".join(comments) + line, ""))
            comments = []
        i += 1
    if comments:
        pieces.append(("", "", "".join(comments), ""))
    return pieces


def _drop_blocks(text: str, drop: Callable[[str, str, str], bool]) -> str:
    out: list[str] = []
    skip_blank = False
    for kind, label, body, lead in _blocks(text):
        if kind and drop(kind, label, body):
            skip_blank = True  # and the blank line that separated it from the next block
            continue
        if skip_blank and kind == "" and body == "\n":
            skip_blank = False
            continue
        skip_blank = False
        out.append(lead + body)
    return "".join(out).rstrip("\n") + "\n"


def _drop_entries(text: str, providers: set[str]) -> str:
    """Leave ``providers`` out of ``required_providers`` (each entry with its comments)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _ENTRY.match(lines[i])
        if m and m.group("name") in providers:
            while out and out[-1].strip().startswith("#"):
                out.pop()  # the entry's own comments
            end = i + 1
            while end < len(lines) and lines[end].rstrip("\n") != m.group("indent") + "}":
                end += 1
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return "".join(out)


_MODULE_LIST = re.compile(r"contains\(\[(?P<list>[^\]]*)\], g\.module\)")
_MODULE_MESSAGE = re.compile(r"must be one of (?P<list>[a-z-]+(?:, [a-z-]+)*):")


def _narrow_modules(text: str, kept: Sequence[str]) -> str:
    listed = _MODULE_LIST.search(text)
    said = _MODULE_MESSAGE.search(text)
    if not listed or not said:
        raise RuntimeError(
            "terraform/variables.tf: the grants variable's module check is not where "
            "controller/scaffold/terraform.py looks for it"
        )
    names = ", ".join(f'"{m}"' for m in kept)
    text = text[: listed.start("list")] + names + text[listed.end("list") :]
    said = _MODULE_MESSAGE.search(text)
    assert said is not None
    return text[: said.start("list")] + ", ".join(kept) + text[said.end("list") :]
