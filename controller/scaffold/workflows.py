"""The access repository's workflows, derived from this repository's own ``jit-*.yml``. PURE.

There is one copy of the workflows: ``.github/workflows/jit-{check,merge,apply,expire}.yml``
(shipped in the wheel through ``controller/scaffold/upstream/workflows``). :func:`derive` turns
one into the access repository's version, line by line, so comments and hardening stay as they
are:

* every ``uses: ./`` or ``uses: ./base`` (this repository's own action, the default branch's
  checkout) becomes the **versioned** action ``OWNER/jitctl@REF``, which installs jitctl from its
  own ``github.action_path``, never from the access repository or a pull request; the same for
  ``.github/actions/gcp-wif``. Any other local ``uses: ./...`` is an error (a new local action
  the scaffold would not have), so a change upstream cannot slip through unnoticed;
* steps, env entries and shell lines of a cloud that was not asked for are left out: the steps
  guarded by ``startsWith(matrix.stack, '<cloud>-')``, the Google credential file, the
  ``ARM_*`` settings and the Azure subscription switch.

A reusable workflow (``on: workflow_call``) cannot learn its own ref (its ``github`` context is
the caller's), so it could not install jitctl at its own version; a composite action can
(``github.action_path`` is the checkout of the ref it was called at). Hence the action, pinned
by tag in each job (README, "Installing and upgrading").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

WORKFLOWS = ("jit-check.yml", "jit-merge.yml", "jit-apply.yml", "jit-expire.yml")
ACTION_REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
SHA_RE = re.compile(r"[0-9a-f]{40}")
REF_RE = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+-]*|[0-9a-f]{40}")

_USES = re.compile(r"^(?P<lead>\s*(?:- )?uses: )(?P<target>\./\S*)(?P<rest>.*)$")
_LOCAL_ACTIONS = {
    "./": "",
    "./base": "",
    "./.github/actions/gcp-wif": "/.github/actions/gcp-wif",
    "./base/.github/actions/gcp-wif": "/.github/actions/gcp-wif",
}
_STEP = re.compile(r"^(\s*)- ")
_CLOUD_IF = re.compile(r"^\s+if: startsWith\(matrix\.stack, '(aws|gcp|azure)-'\)\s*$")
# single lines that belong to one cloud (env entries and shell lines)
_CLOUD_LINES = {
    "gcp": (re.compile(r"^\s+GOOGLE_APPLICATION_CREDENTIALS: "),),
    "azure": (re.compile(r"^\s+ARM_[A-Z_]+: "),),
}
# the Azure subscription switch in a run: script, from `case "${STACK}" in` to its `esac`
_AZURE_CASE_START = re.compile(r'^\s+case "\$\{STACK\}" in\s*$')
_AZURE_CASE_END = re.compile(r"^\s+esac\s*$")


BACKENDS = ("s3", "gcs", "azurerm")
# the `terraform init` settings of each state backend (one state per stack)
_BACKEND_SETTINGS = {
    "gcs": ["bucket=${TF_STATE_BUCKET}", "prefix=${TF_STATE_PREFIX}${STACK}"],
    "azurerm": [
        "storage_account_name=${TF_STATE_BUCKET}",
        "container_name=${TF_STATE_CONTAINER}",
        "key=${TF_STATE_PREFIX}${STACK}.tfstate",
        "use_oidc=true",
        "use_azuread_auth=true",
    ],
}
_S3_KEY = "key=${TF_STATE_PREFIX}${STACK}.tfstate"
_BACKEND_CONFIG = re.compile(r'^(?P<lead>\s+)-backend-config="(?P<setting>[^"]*)"( \\)?$')
_STATE_PREFIX_ENV = re.compile(r"^(\s+)TF_STATE_PREFIX: .*$")


def derive(
    name: str,
    text: str,
    *,
    clouds: Sequence[str],
    action_repo: str,
    action_ref: str,
    backend: str = "s3",
) -> str:
    """The access repository's version of workflow ``name`` (its text upstream)."""
    lines = text.splitlines()
    lines = _rewrite_uses(name, lines, action_repo, action_ref)
    for cloud in ("aws", "gcp", "azure"):
        if cloud not in clouds:
            lines = _drop_cloud(lines, cloud)
    if backend != "s3":
        lines = _state_backend(name, lines, backend, keep_region="aws" in clouds)
    return "\n".join(lines) + "\n"


def _state_backend(name: str, lines: list[str], backend: str, keep_region: bool) -> list[str]:
    """Point every `terraform init` at a GCS bucket or an Azure storage container instead of S3:
    its run of ``-backend-config`` lines is replaced by the backend's own."""
    out: list[str] = []
    inits = replaced = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("terraform init"):
            inits += 1
            out.append(line)
            end = i + 1
            settings = []
            while end < len(lines) and (m := _BACKEND_CONFIG.match(lines[end])):
                settings.append(m.group("setting"))
                lead = m.group("lead")
                end += 1
            if _S3_KEY in settings and end > i + 1:
                replaced += 1
                new = _BACKEND_SETTINGS[backend]
                out += [
                    f'{lead}-backend-config="{setting}"' + (" \\" if k < len(new) - 1 else "")
                    for k, setting in enumerate(new)
                ]
                i = end
                continue
            i += 1
            continue
        if backend == "azurerm" and (m := _STATE_PREFIX_ENV.match(line)):
            out += [line, m.group(1) + "TF_STATE_CONTAINER: ${{ vars.JITCTL_TF_STATE_CONTAINER }}"]
            i += 1
            continue
        if not keep_region and line.strip().startswith("AWS_REGION: "):
            i += 1
            continue  # the region was the S3 backend's (and AWS's): neither is used
        out.append(line)
        i += 1
    if replaced != inits:
        raise RuntimeError(
            f"{name}: {inits} terraform init, {replaced} with S3 settings: the state backend "
            "lines are not where controller/scaffold/workflows.py looks for them"
        )
    return out


def _rewrite_uses(name: str, lines: list[str], repo: str, ref: str) -> list[str]:
    out = []
    for number, line in enumerate(lines, 1):
        m = _USES.match(line)
        if m:
            target = m.group("target")
            target = target if target == "./" else target.rstrip("/")
            if target not in _LOCAL_ACTIONS:
                raise RuntimeError(
                    f"{name}:{number}: uses: {m.group('target')} is a local action the access "
                    "repository does not have; teach controller/scaffold/workflows.py about it"
                )
            # the trailing comment explained the local reference (zizmor's self-repository)
            line = f"{m.group('lead')}{repo}{_LOCAL_ACTIONS[target]}@{ref}"
        out.append(line)
    return out


def _drop_cloud(lines: list[str], cloud: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        step = _STEP.match(line)
        if step:
            end = _block_end(lines, i, len(step.group(1)))
            if any((m := _CLOUD_IF.match(body)) and m.group(1) == cloud for body in lines[i:end]):
                # the comment lines just above the step, at its indentation, go with it
                while (
                    out
                    and out[-1].strip().startswith("#")
                    and _indent(out[-1]) == len(step.group(1))
                ):
                    out.pop()
                i = end
                continue
        if any(p.match(line) for p in _CLOUD_LINES.get(cloud, ())):
            i += 1
            continue
        if cloud == "azure" and _AZURE_CASE_START.match(line):
            end = i + 1
            while end < len(lines) and not _AZURE_CASE_END.match(lines[end]):
                end += 1
            if end < len(lines) and all("azure" in arm for arm in lines[i + 1 : end]):
                i = end + 1  # a switch of Azure stacks only: nothing else to do without Azure
                continue
        out.append(line)
        i += 1
    return out


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The index after the step that starts at ``start`` (a ``- `` item at ``indent``)."""
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent(line) <= indent:
            break
        i += 1
    # trailing blank lines stay with what follows
    while i > start + 1 and not lines[i - 1].strip():
        i -= 1
    return i


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def zizmor_config(action_repo: str) -> str:
    """zizmor's settings for the access repository: the jitctl action may be pinned by its
    version tag (every other action stays pinned by commit sha). Pass ``--action-ref SHA`` to
    ``jitctl init`` to pin it by sha too; then this file is not written."""
    return (
        "# jitctl's action is pinned by its version tag (jitctl init --action-ref SHA pins it by\n"
        "# commit instead); protect the tags of that repository. Every other action: by sha.\n"
        "rules:\n"
        "  unpinned-uses:\n"
        "    config:\n"
        "      policies:\n"
        f"        {action_repo}: ref-pin\n"
        f'        "{action_repo}/*": ref-pin\n'
    )
