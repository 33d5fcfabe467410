"""Commit signatures, verified in this process. Pure: commit bytes and trust files in, values out.

A signed git commit carries its signature in a ``gpgsig`` header; what is signed is the commit
object without that header. SSH signatures (``-----BEGIN SSH SIGNATURE-----``, git's
``gpg.format=ssh``) are checked here with the ``sshsig`` library (a port of ``ssh-keygen -Y
check-novalidate``: the signature, its ``git`` namespace and the key it embeds), and the key is
then looked up in the allowed-signers file as ``ssh-keygen -Y verify`` would: same key, the
``git`` namespace allowed, inside ``valid-after``/``valid-before`` at the commit's date.
Certificate authorities are not supported (such a line trusts no one). Verifying here costs a
fraction of a millisecond per commit instead of two ``ssh-keygen`` processes.

OpenPGP signatures (GitHub's) are left to git and gpg (see ``history.py``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sshsig import InvalidSignature, PublicKey, check_signature
from sshsig.allowed_signers import load_allowed_signers_file

from controller.audit.lifecycles import CommitSignature

SSH_ARMOR = b"-----BEGIN SSH SIGNATURE-----"
PGP_ARMOR = b"-----BEGIN PGP SIGNATURE-----"


@dataclass(frozen=True)
class AllowedKey:
    principals: str
    key: PublicKey
    namespaces: tuple[str, ...] | None  # None: every namespace
    valid_after: datetime | None
    valid_before: datetime | None


def _when(text: str) -> datetime:
    """ssh-keygen's YYYYMMDD[HHMM[SS]][Z] (read as UTC)."""
    digits = text.rstrip("Zz")
    fmt = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(digits))
    if fmt is None or not digits.isdigit():
        raise ValueError(f"bad time {text!r}")
    return datetime.strptime(digits, fmt).replace(tzinfo=UTC)


def parse_allowed_signers(text: str) -> tuple[list[AllowedKey], list[str]]:
    """The keys of an allowed-signers file, and a problem per line that trusts no one."""
    keys: list[AllowedKey] = []
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            (entry,) = load_allowed_signers_file(io.StringIO(line + "\n"))
            options = entry.options or {}
            if "cert-authority" in options:
                raise ValueError("cert-authority lines are not supported")
            key = PublicKey.from_openssh_str(f"{entry.key_type} {entry.base64_key}")
            spaces = options.get("namespaces")
            keys.append(
                AllowedKey(
                    principals=entry.principals,
                    key=key,
                    namespaces=tuple(s.strip() for s in spaces.split(",")) if spaces else None,
                    valid_after=_when(options["valid-after"]) if "valid-after" in options else None,
                    valid_before=(
                        _when(options["valid-before"]) if "valid-before" in options else None
                    ),
                )
            )
        except (ValueError, NotImplementedError) as exc:
            problems.append(f"line {n}: {exc or type(exc).__name__}")
    return keys, problems


def split_signed_commit(raw: bytes) -> tuple[bytes, bytes | None]:
    """(the signed payload, the armoured signature) of a raw commit object; None: unsigned."""
    head, sep, body = raw.partition(b"\n\n")
    lines = head.split(b"\n")
    kept: list[bytes] = []
    sig: list[bytes] | None = None
    in_sig = False
    for line in lines:
        if line.startswith(b"gpgsig ") and sig is None:
            sig, in_sig = [line[len(b"gpgsig ") :]], True
        elif in_sig and line.startswith(b" "):
            assert sig is not None
            sig.append(line[1:])
        else:
            in_sig = False
            kept.append(line)
    payload = b"\n".join(kept) + sep + body
    return payload, (b"\n".join(sig) + b"\n") if sig is not None else None


def verify_ssh(
    payload: bytes, armored: bytes, keys: Sequence[AllowedKey], when: datetime
) -> CommitSignature:
    """git's verdict (``%G?``) on an SSH signature: G (allowed signer), U (valid, not allowed),
    B (bad), E (cannot check)."""
    try:
        key = check_signature(payload, armored, "git")
    except InvalidSignature:
        return CommitSignature("B")
    except (ValueError, NotImplementedError):
        return CommitSignature("E")
    fingerprint = key.sha256_str()
    for allowed in keys:
        if allowed.key != key:
            continue
        if allowed.namespaces is not None and "git" not in allowed.namespaces:
            continue
        if allowed.valid_after is not None and when < allowed.valid_after:
            continue
        if allowed.valid_before is not None and when > allowed.valid_before:
            continue
        return CommitSignature("G", allowed.principals, fingerprint)
    return CommitSignature("U", "", fingerprint)
