"""Typed failures of the remote layer: one line and a hint each, never a secret."""

from __future__ import annotations

from penguinctl.core.errors import PenguinError


class RemoteError(PenguinError):
    """An SSH connection or a remote command failed."""


class ConnectFailed(RemoteError):
    """The host could not be reached or refused us (after the retries allowed)."""


class AuthFailed(ConnectFailed):
    """The host answered but did not accept the key (never retried)."""


class HostKeyChanged(RemoteError):
    """The host presented a key other than the pinned one (never retried, never accepted)."""

    def __init__(self, where: str, pinned: str, presented: str) -> None:
        super().__init__(
            f"host key of {where} changed: pinned {pinned}, presented {presented}",
            hint="if the server was reinstalled on purpose, check the new fingerprint out of "
            f"band, then forget the old pin (penguinctl remote forget '{where}'); "
            "otherwise someone may be intercepting the connection",
        )
        self.pinned = pinned
        self.presented = presented


class CommandFailed(RemoteError):
    """A remote command exited non-zero; ``exit_code`` and the (redacted) stderr tail."""

    def __init__(self, where: str, what: str, exit_code: int, stderr: str) -> None:
        tail = " | ".join(line for line in stderr.strip().splitlines()[-3:] if line.strip())
        super().__init__(
            f"{what} failed on {where} (exit {exit_code})" + (f": {tail}" if tail else ""),
            hint="run with -v to see the commands; the remote output above says why",
        )
        self.exit_code = exit_code
        self.stderr = stderr
