"""Credential references: ``env:NAME`` and ``file:PATH``. Values are never stored.

Every resolved value is registered with the redactor so it cannot reach a log
line or an error message by accident.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from penguinctl.core.errors import CredentialError, redact

REF = re.compile(r"^(env):([A-Za-z_][A-Za-z0-9_]*)$|^(file):(.+)$")


def is_reference(value: str) -> bool:
    return bool(REF.match(value))


def check_reference(value: str) -> str | None:
    """Return a problem with a reference's syntax, or None."""
    if REF.match(value):
        return None
    return "credentials must be references such as env:NAME or file:PATH, never literal values"


def resolve(ref: str, *, base: Path | None = None) -> str:
    """Resolve ``ref`` to the secret value; raises :class:`CredentialError`."""
    match = REF.match(ref)
    if match is None:
        raise CredentialError(
            "a credential is not a reference",
            hint="write env:NAME or file:PATH instead of the secret itself",
        )
    if match.group(1):
        name = match.group(2)
        value = os.environ.get(name)
        if not value:
            raise CredentialError(
                f"environment variable {name} is not set",
                hint=f"export {name}=… (or use --sandbox to try without accounts)",
            )
    else:
        path = Path(os.path.expanduser(match.group(4)))
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise CredentialError(
                f"cannot read credential file {path}: {exc.strerror}",
                hint="check the path in penguinctl.yaml and the file's permissions",
            ) from None
        if not value:
            raise CredentialError(f"credential file {path} is empty")
    redact.add(value)
    return value
