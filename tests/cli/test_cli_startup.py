"""Nothing heavy on the --help and completion path (measured in bench/plan_scale.py)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "httpx",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "paramiko",
    "fabric",
    "dns",
    "pydantic",
    "yaml",
    "cryptography",
    "pulumi",
    "stripe",
    "jinja2",
)


def test_help_path_imports_nothing_heavy() -> None:
    code = (
        "import sys, penguinctl.cli.app as a\n"
        "try:\n    a.app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_version_is_fast_path() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "penguinctl", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("penguinctl ")
