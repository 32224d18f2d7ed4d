"""Shell text built from argument lists: every argument quoted, scripts batched.

Nothing here runs anything. A command is a list of arguments (``["mkdir", "-p",
path]``) turned into shell text with :func:`shlex.join`, so a value such as
``$(reboot); "x"`` reaches the program as one literal argument. Secrets never go
into this text (it is visible in ``ps`` on the host and may be logged): they
travel on stdin (see :meth:`penguinctl.remote.connection.Remote.put_files`).

:func:`batch` joins many commands into one script so that a round of facts costs
one SSH command (~0.1 s each, test-servers.md §2) instead of one per fact; each
command's exit status and output come back separately, delimited by a random
boundary the commands cannot forge by accident.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Argv = Sequence[str]


def join(argv: Argv) -> str:
    """One command line with every argument quoted."""
    if not argv:
        raise ValueError("empty command")
    return shlex.join(str(a) for a in argv)


def quote(value: str) -> str:
    return shlex.quote(value)


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def batch(commands: Mapping[str, Argv | str]) -> tuple[str, str]:
    """(script, boundary): run each command (argv or already-safe shell text) in turn.

    Every command runs even if an earlier one failed (facts are independent);
    its stdin is ``/dev/null`` so none can swallow the rest of the script.
    """
    boundary = "pc-" + secrets.token_hex(8)
    lines = []
    for name, command in commands.items():
        text = command if isinstance(command, str) else join(command)
        tag = quote(f"{boundary} {name}")
        lines.append(
            f"printf '%s\\n' {tag}; printf '%s\\n' {tag} >&2; "
            f"( {text} ) </dev/null; "
            f"printf '\\n%s =%d\\n' {tag} \"$?\"; printf '\\n%s =\\n' {tag} >&2"
        )
    return "\n".join(lines) + "\n", boundary


def split_batch(result: Result, names: Sequence[str], boundary: str) -> dict[str, Result]:
    """The per-command results of a :func:`batch` run (a command that never ended: 255)."""
    results = {}
    for name in names:
        out, code = _section(result.stdout, boundary, name)
        err, _ = _section(result.stderr, boundary, name)
        results[name] = Result(int(code) if code.isdigit() else 255, out, err)
    return results


def _section(text: str, boundary: str, name: str) -> tuple[str, str]:
    """(output, code) between ``<b> name`` and ``<b> name =code``; the script added one
    newline before the closing line, which is removed here."""
    opening = f"{boundary} {name}\n"
    start = text.find(opening)
    if start < 0:
        return "", ""
    start += len(opening)
    close = re.compile(rf"\n{re.escape(boundary)} {re.escape(name)} =(\d*)\n")
    found = close.search(text, start)
    if found is None:
        return text[start:], ""
    return text[start : found.start()], found.group(1)
