"""Through the real CLI: the missing Pulumi CLI is one clear error; `stack export` writes a
project whose program runs under Pulumi's mocks in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cli  # noqa: F401  (the CLI fixture)
from tests.pulumi.conftest import REPO


@pytest.fixture
def no_pulumi(cli: Any, tmp_path: Path) -> Any:  # noqa: F811
    """The cli fixture with a PATH that has no `pulumi` and a private temp dir."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    cli.env["TMPDIR"] = str(tmp)
    cli.env["PATH"] = os.pathsep.join(
        p for p in cli.env["PATH"].split(os.pathsep) if not (Path(p) / "pulumi").exists()
    )
    return cli


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "-f", "examples", "--engine", "pulumi"),
        ("apply", "-f", "examples", "--engine", "pulumi", "--yes"),
        ("destroy", "-t", "acme", "--engine", "pulumi", "--yes"),
        ("engine", "migrate", "--to", "pulumi", "-f", "examples"),
        ("engine", "refresh", "-f", "examples"),
        ("status", "--refresh", "--engine", "pulumi"),
    ],
)
def test_missing_pulumi_cli_is_one_clear_error(no_pulumi: Any, args: tuple[str, ...]) -> None:
    r = no_pulumi(*args)
    assert r.code == 1, r
    assert "needs the Pulumi CLI" in r.err and "hint:" in r.err, r
    assert "Traceback" not in r.err + r.out, r
    assert list(Path(no_pulumi.env["TMPDIR"]).iterdir()) == []  # no automation-* left behind


def test_workspace_engine_pulumi_selects_it_and_builtin_is_unaffected(no_pulumi: Any) -> None:
    cfg = no_pulumi.root / "penguinctl.yaml"
    r = no_pulumi("plan", "-f", "examples")
    assert r.code == 0, r  # the built-in engine needs no Pulumi
    cfg.write_text(cfg.read_text() + "engine: pulumi\n")
    r = no_pulumi("plan", "-f", "examples")
    assert r.code == 1 and "needs the Pulumi CLI" in r.err, r
    r = no_pulumi("plan", "-f", "examples", "--engine", "builtin")
    assert r.code == 0, r
    r = no_pulumi("status", "--refresh")  # engine: pulumi → pulumi refresh: needs the CLI
    assert r.code == 1 and "needs the Pulumi CLI" in r.err and "hint:" in r.err, r
    assert "Traceback" not in r.err + r.out, r
    assert no_pulumi("status").code == 0  # the recorded inventory needs no engine
    assert no_pulumi("status", "--refresh", "--engine", "builtin").code == 0
    r = no_pulumi("doctor")
    assert "pulumi" in r.out.lower() and "not installed" in r.out, r


def test_stack_export_runs_under_mocks_in_a_fresh_interpreter(cli: Any, tmp_path: Path) -> None:  # noqa: F811
    out_dir = tmp_path / "acme-stack"
    r = cli("stack", "export", "acme", str(out_dir), "-f", "examples")
    assert r.code == 0, r
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        "Pulumi.tenant-acme.yaml",
        "Pulumi.yaml",
        "__main__.py",
        "penguinctl.yaml",
        "requirements.txt",
        "specs",
    ]
    stack_cfg = (out_dir / "Pulumi.tenant-acme.yaml").read_text()
    assert "env:CLOUDFLARE_API_TOKEN" in stack_cfg  # a reference, not a value
    assert "penguinctl[pulumi]" in (out_dir / "requirements.txt").read_text()
    r = cli("stack", "export", "acme", str(out_dir), "-f", "examples")
    assert r.code == 1 and "not empty" in r.err, r

    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS)
    env = {k: v for k, v in cli.env.items() if not k.startswith("PENGUIN_")}
    env["PYTHONPATH"] = str(REPO)
    env["CLOUDFLARE_API_TOKEN"] = "exported-token"
    proc = subprocess.run(
        [sys.executable, str(harness)],
        cwd=out_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    regs = json.loads(proc.stdout.strip().splitlines()[-1])
    kinds = {name.split("/", 1)[0] for _typ, name in regs}
    assert {"tenant", "server", "dkim_key", "mailu_domain", "dns_record"} <= kinds
    assert ["cloudflare:index/dnsRecord:DnsRecord", "dns_record/acme-outbound.example/MX/@"] in regs
    assert all(name.split("/", 1)[0] != "tenant" or name == "tenant/acme" for _t, name in regs)


# Runs in the exported directory: stack config from Pulumi.tenant-acme.yaml, mocks, then the
# exported __main__.py exactly as `pulumi up` would run it.
HARNESS = """
import json, runpy, sys, yaml, pulumi

cfg = yaml.safe_load(open("Pulumi.tenant-acme.yaml"))["config"]
pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()})
seen = []

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        seen.append([args.typ, args.name])
        state = dict(args.inputs)
        if args.typ.startswith("pulumi-python:dynamic/"):
            state["outputs"] = {"ipv4": "192.0.2.10", "ips": ["192.0.2.10"], "txt": "v=DKIM1; p=x"}
        return args.name + "_id", state
    def call(self, args):
        if args.token == "cloudflare:index/getZone:getZone":
            return {"id": "zone-" + args.args["filter"]["name"]}
        raise AssertionError("unexpected invoke " + args.token)

pulumi.runtime.set_mocks(Mocks(), project="penguinctl", stack="tenant-acme", preview=False)

@pulumi.runtime.test
def run():
    runpy.run_path("__main__.py", run_name="__main__")
    return pulumi.Output.from_input(1)

run()
print(json.dumps([s for s in seen if not s[0].startswith("pulumi:providers:")]))
"""


def test_the_wheel_lists_the_engine_package_and_ships_the_program() -> None:
    import tomllib

    conf = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "penguinctl.pulumi_engine" in conf["tool"]["setuptools"]["packages"]
    assert "stacks/**/*" in conf["tool"]["setuptools"]["package-data"]["penguinctl.data"]
    extra = conf["project"]["optional-dependencies"]["pulumi"]
    assert any(d.startswith("pulumi>") for d in extra)
    assert any(d.startswith("pulumi-cloudflare") for d in extra)
    assert not any("pulumi" in d for d in conf["project"]["dependencies"])


def test_builtin_paths_import_no_pulumi() -> None:
    """The CLI, the routing and the orchestration modules never import the Pulumi SDK."""
    code = (
        "import sys\n"
        "import penguinctl.cli.app\n"
        "from penguinctl.pulumi_engine import export, migrate, orchestrate, runner, runtime, tokens\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_cloudflare'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_migrate_to_builtin_without_the_cli(
    no_pulumi: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records applied by Pulumi block the built-in engine until `engine migrate --to builtin`,
    which works without a CLI: the store mirrors the stacks; their state files are archived."""
    from penguinctl.pulumi_engine import orchestrate, runtime
    from penguinctl.session import Session
    from tests.pulumi.fake_runner import FakeRunner

    for k, v in no_pulumi.env.items():
        if k.startswith(("PENGUIN_", "HOME")):
            monkeypatch.setenv(k, v)
    root = no_pulumi.root
    session = Session(str(root))
    try:
        orchestrate.up(session, [str(root / "examples")], ["acme"], FakeRunner().expect("up"))
        n = len(session.store.recorded())
    finally:
        session.close()
        runtime.close()  # the program's session held the in-process sandbox
    stacks = root / "state" / "pulumi" / ".pulumi" / "stacks" / "penguinctl"
    stacks.mkdir(parents=True)
    (stacks / "tenant-acme.json").write_text('{"version": 3, "checkpoint": {}}')
    (stacks / "tenant-acme.json.bak").write_text("{}")

    r = no_pulumi("plan", "-f", "examples")
    assert r.code == 1 and "managed by the pulumi engine" in r.err, r
    assert "engine migrate --to builtin" in r.err, r

    r = no_pulumi("-o", "json", "engine", "migrate", "--to", "builtin", "-f", "examples")
    assert r.code == 0, r
    assert json.loads(r.out) == {"to": "builtin", "tenants": {"acme": n}, "config_updated": True}
    assert not list(stacks.iterdir())  # forgotten: archived, not deleted
    archived = list((root / "state" / "pulumi" / "forgotten").rglob("tenant-acme.json"))
    assert len(archived) == 1
    assert "engine: builtin" in (root / "penguinctl.yaml").read_text()
    r = no_pulumi("plan", "-f", "examples")
    assert r.code == 0, r  # the built-in engine owns them now
    r = no_pulumi("engine", "migrate", "--to", "pulumi", "-f", "examples")
    assert r.code == 1 and "needs the Pulumi CLI" in r.err, r  # that direction needs Pulumi
