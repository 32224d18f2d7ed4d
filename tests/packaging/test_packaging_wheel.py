"""A non-editable install works away from the checkout: data files ship inside the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_installs_and_runs_the_sandbox_journey(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    (wheel,) = wheels.glob("penguinctl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "templates/README.md",
        "playbooks/README.md",
        "stacks/README.md",
        "examples/agency.yaml",
    ):
        assert f"penguinctl/data/{shipped}" in names, shipped
    assert "penguinctl/store/migrations/versions/0001_initial.py" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)

    # A venv that sees the already-installed dependencies but not the checkout.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "PENGUIN_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        PENGUIN_SECRET_KEY="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str, cwd: Path = work) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(env_dir / "bin" / "penguinctl"), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    where = subprocess.run(
        [str(py), "-c", "import penguinctl; print(penguinctl.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert str(env_dir) in where.stdout, where  # the installed copy, not the checkout
    assert run("--version").stdout.startswith("penguinctl ")
    assert run("init", "ws").returncode == 0
    r = run("apply", "-f", "specs/", "--yes", cwd=work / "ws")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "applied" in r.stdout
