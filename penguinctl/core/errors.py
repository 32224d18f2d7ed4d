"""The one error root of penguinctl.

Every *expected* failure is a :class:`PenguinError`: the CLI prints its message on
one red line, its hint on the next, and exits with :attr:`PenguinError.exit_code`.
Anything else is a bug: the CLI prints one line and writes the traceback to
``state/logs/``.

Messages and hints must never contain a secret value; providers redact vendor
payloads before wrapping them (see :func:`redact`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_VALIDATION = 3
EXIT_INTERRUPTED = 130


class PenguinError(Exception):
    """An expected failure with an actionable hint.

    ``location`` is ``file:line[:column]`` when a spec is at fault.
    """

    exit_code: int = EXIT_ERROR
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "location": self.location,
        }


@dataclass(frozen=True)
class Issue:
    """One validation problem, positioned in a spec file when possible."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None  # dotted field path, e.g. ``spec.mailboxes[0].name``
    hint: str | None = None
    document: str | None = None  # ``Kind/name`` when known

    @property
    def location(self) -> str | None:
        if self.file is None:
            return None
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "hint": self.hint,
            "document": self.document,
        }

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field_ = f"{self.path}: " if self.path else ""
        return f"{where}{field_}{self.message}"


class ValidationFailed(PenguinError):
    """Specs (or a resource graph) are invalid; carries *all* issues at once."""

    exit_code = EXIT_VALIDATION
    code = "validation_failed"

    def __init__(self, issues: list[Issue]):
        self.issues = sorted(
            issues, key=lambda i: (i.file or "", i.line or 0, i.column or 0, i.message)
        )
        first = self.issues[0] if self.issues else Issue("invalid input")
        n = len(self.issues)
        summary = first.render() + (f" (and {n - 1} more)" if n > 1 else "")
        super().__init__(summary, hint=first.hint, location=None)

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["issues"] = [i.to_dict() for i in self.issues]
        return data


class ConfigError(PenguinError):
    """The workspace configuration (penguinctl.yaml) is wrong or missing."""

    code = "config_error"


class CredentialError(PenguinError):
    """A credential reference cannot be resolved (unset variable, unreadable file)."""

    code = "credential_error"


class StoreError(PenguinError):
    """The store (database) is unreachable, too new, or inconsistent."""

    code = "store_error"


class SecretKeyError(StoreError):
    """The secret key is missing or does not decrypt what the store holds."""

    code = "secret_key_error"


class LockedError(PenguinError):
    """Another apply holds the workspace lock."""

    code = "locked"


class PlanMismatch(PenguinError):
    """A saved plan no longer matches the specs or the recorded state."""

    code = "plan_mismatch"


class UnsafePlan(PenguinError):
    """A plan deletes or replaces more than is allowed without ``--force``."""

    code = "unsafe_plan"


class ProviderError(PenguinError):
    """A provider call failed. ``retryable`` says whether the same call may be re-sent.

    ``retryable`` must be False for any call whose effect may have happened
    (a purchase that timed out): the engine then settles by reading instead.
    """

    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        retryable: bool = False,
        vendor_code: str | None = None,
    ):
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.vendor_code = vendor_code


class NotFound(ProviderError):
    """The object does not exist (any more) at the provider."""

    code = "not_found"


class AuthError(ProviderError):
    """Credentials rejected by the vendor."""

    code = "auth_error"


class RateLimited(ProviderError):
    """The vendor asked us to slow down; ``retry_after`` in seconds when it said so."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None):
        super().__init__(message, hint=hint, retryable=True)
        self.retry_after = retry_after


class Conflict(ProviderError):
    """A foreign object is in the way; never overwritten without an explicit adopt."""

    code = "conflict"


@dataclass
class Redactor:
    """Replaces known secret values (and ``key=value`` secrets) in text."""

    secrets: set[str] = field(default_factory=set)

    _KV = re.compile(r"(?i)\b(API|api_key|apikey|token|password|passwd|secret)=([^&\s\"']+)")

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self.secrets.add(value)

    def __call__(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, "***")
        return self._KV.sub(lambda m: f"{m.group(1)}=***", text)


redact = Redactor()
