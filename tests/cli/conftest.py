"""CLI tests run the real console entry point in a subprocess, in a fresh workspace."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


class Cli:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, cwd: Path | None = None
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "penguinctl", *args],
            cwd=cwd or self.root,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "penguinctl", *args],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture()
def cli(tmp_path: Path) -> Cli:
    """A sandbox workspace with the README's example specs, isolated HOME and secret key."""
    return new_workspace(tmp_path)


def new_workspace(tmp_path: Path) -> Cli:
    """What the ``cli`` fixture gives, for fixtures of a wider scope: ``tmp_path/ws``."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nsandbox: true\nparallelism: 4\n"
        "providers:\n  hostwinds: {type: hostwinds, credentials: {apiKey: env:HOSTWINDS_API_KEY}}\n"
        "  cloudflare: {type: cloudflare, credentials: {apiToken: env:CLOUDFLARE_API_TOKEN}}\n"
        "  mailu: {type: mailu}\n"
    )
    shutil.copytree(REPO / "examples", root / "examples")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PENGUIN_", "HOSTWINDS_", "CLOUDFLARE_", "PYTEST_"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        PENGUIN_SECRET_KEY=base64.b64encode(os.urandom(32)).decode(),
        PYTHONPATH=str(REPO),
        COLUMNS="200",
        NO_COLOR="1",
    )
    return Cli(root, env)
