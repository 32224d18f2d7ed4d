"""Strict recording stand-ins for the commands a MailU host runs that tests cannot run for
real (``docker``, ``apt-get``, ``curl``, ``ufw``, ``hostnamectl``, ``systemctl``,
``timedatectl``). An allowed ``curl … -o PATH`` writes its rule's output to PATH.

They are executables in a directory the SSH session puts first on ``PATH``
(``Target.path_prefix``); everything else (sshd, files, sh, sha256sum…) is real.
Every invocation is appended to ``calls.jsonl``. An invocation no rule expects exits
97 with "unexpected invocation" and is marked so (tests assert there are none).

``docker compose -p mailu -f <root>/docker-compose.yml …`` is emulated: ``up``/``restart``
/``ps`` keep a set of running services, and ``exec -T admin flask mailu config-export``
/ ``config-import -u -`` delegate to :mod:`penguinctl.sandbox.mailu` (the same merge
semantics as the sandbox MailU), reading the payload from stdin.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NAMES = ("docker", "apt-get", "curl", "ufw", "hostnamectl", "systemctl", "timedatectl")

SCRIPT = """#!{python}
import sys
sys.path.insert(0, {repo!r})
from tests.mailu.standins import main
sys.exit(main({state!r}, {root!r}))
"""


@dataclass
class Standins:
    bin: Path
    state: Path
    root: str

    def allow(self, name: str, argv: list[str], stdout: str = "", exit: int = 0) -> None:
        rules = self._rules()
        rules.setdefault(name, []).append({"argv": argv, "stdout": stdout, "exit": exit})
        (self.state / "rules.json").write_text(json.dumps(rules))

    def disallow(self, name: str, argv: list[str]) -> None:
        """Drop the rules for ``name argv`` (back to the stand-in's own behaviour)."""
        rules = self._rules()
        rules[name] = [r for r in rules.get(name, []) if r["argv"] != argv]
        (self.state / "rules.json").write_text(json.dumps(rules))

    def _rules(self) -> dict[str, Any]:
        path = self.state / "rules.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def calls(self, name: str | None = None) -> list[list[str]]:
        return [c["argv"] for c in self._log() if name is None or c["name"] == name]

    def unexpected(self) -> list[dict[str, Any]]:
        return [c for c in self._log() if c.get("unexpected")]

    def clear(self) -> None:
        (self.state / "calls.jsonl").write_text("")

    def _log(self) -> list[dict[str, Any]]:
        path = self.state / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def mailu(self) -> dict[str, Any]:
        path = self.state / "mailu.json"
        return json.loads(path.read_text()) if path.exists() else {"servers": {}}

    def running(self) -> list[str]:
        path = self.state / "running.json"
        return sorted(json.loads(path.read_text())) if path.exists() else []

    def compose(self, *args: str) -> list[str]:
        return ["compose", "-p", "mailu", "-f", f"{self.root}/docker-compose.yml", *args]


def make_standins(directory: Path, root: str) -> Standins:
    bin_dir, state = directory / "bin", directory / "state"
    bin_dir.mkdir(parents=True)
    state.mkdir()
    for name in NAMES:
        path = bin_dir / name
        path.write_text(
            SCRIPT.format(python=sys.executable, repo=str(REPO), state=str(state), root=root)
        )
        path.chmod(0o755)
    return Standins(bin_dir, state, root)


# -- the stand-in program --------------------------------------------------------------

SERVICES = ("redis", "front", "resolver", "admin", "imap", "smtp", "antispam")


def main(state_dir: str, root: str) -> int:
    state = Path(state_dir)
    name = Path(sys.argv[0]).name
    argv = sys.argv[1:]
    entry: dict[str, Any] = {"name": name, "argv": argv}
    try:
        code, out, err = _answer(state, root, name, argv)
    except Exception as exc:  # a bug in the stand-in must fail the test loudly
        code, out, err = 98, "", f"stand-in crashed: {exc!r}"
    if code == 97:
        entry["unexpected"] = True
    with (state / "calls.jsonl").open("a") as log:
        log.write(json.dumps(entry) + "\n")
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


def _answer(state: Path, root: str, name: str, argv: list[str]) -> tuple[int, str, str]:
    rules_path = state / "rules.json"
    rules = json.loads(rules_path.read_text()) if rules_path.exists() else {}
    for rule in rules.get(name, []):
        if rule["argv"] == argv:
            if name == "curl" and "-o" in argv[:-1]:  # a download lands where it was asked
                Path(argv[argv.index("-o") + 1]).write_text(rule["stdout"])
                return rule["exit"], "", ""
            return rule["exit"], rule["stdout"], ""
    prefix = ["compose", "-p", "mailu", "-f", f"{root}/docker-compose.yml"]
    if name == "docker" and argv[: len(prefix)] == prefix:
        return _compose(state, argv[len(prefix) :])
    return 97, "", f"unexpected invocation: {name} {argv}\n"


def _compose(state: Path, args: list[str]) -> tuple[int, str, str]:
    running_path = state / "running.json"
    running = set(json.loads(running_path.read_text())) if running_path.exists() else set()
    if args == ["ps", "--all", "--format", "json"]:
        lines = [
            json.dumps({"Service": s, "State": "running", "Health": ""}) for s in sorted(running)
        ]
        return 0, "".join(line + "\n" for line in lines), ""
    if args == ["up", "-d", "--remove-orphans"]:
        running = set(SERVICES)
    elif args[:3] == ["up", "-d", "--force-recreate"] and _known(args[3:]):
        running |= set(args[3:])
    elif args[:2] == ["up", "-d"] and _known(args[2:]):
        running |= set(args[2:])
    elif args[:1] == ["restart"] and _known(args[1:]) and set(args[1:]) <= running:
        pass
    elif args == ["down"]:
        running = set()
    elif args[:6] == ["exec", "-T", "admin", "flask", "mailu", "config-export"]:
        if "admin" not in running:
            return 1, "", "service admin is not running\n"
        if args[6:] != ["-j", "-s", "domain", "user"]:
            return 97, "", f"unexpected config-export arguments: {args[6:]}\n"
        return 0, json.dumps(_emulator(state).export("host")), ""
    elif args[:6] == ["exec", "-T", "admin", "flask", "mailu", "config-import"]:
        if args[6:] != ["-u", "-"]:
            # Without -u MailU replaces the whole configuration: penguinctl must never do it.
            return 97, "", f"unexpected config-import arguments: {args[6:]}\n"
        return _import(state, sys.stdin.buffer.read())
    else:
        return 97, "", f"unexpected invocation: docker compose … {args}\n"
    running_path.write_text(json.dumps(sorted(running)))
    return 0, "", ""


def _known(services: list[str]) -> bool:
    return bool(services) and all(s in SERVICES for s in services)


def _emulator(state: Path) -> Any:
    from penguinctl.sandbox.mailu import MailuEmulator

    path = state / "mailu.json"
    return MailuEmulator(json.loads(path.read_text()) if path.exists() else None)


def _import(state: Path, body: bytes) -> tuple[int, str, str]:
    import copy

    from penguinctl.sandbox.mailu import InvalidImport, _merge, _message

    emu = _emulator(state)
    try:
        payload = json.loads(body)
        config = copy.deepcopy(emu._server("host"))
        counts = _merge(config, payload)
    except (InvalidImport, ValueError) as exc:
        return 1, "", f"[ValidationError] {exc}\n"
    emu.state["servers"]["host"] = config
    (state / "mailu.json").write_text(json.dumps(emu.state))
    return 0, _message(counts) + "\n", ""
