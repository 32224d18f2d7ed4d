"""The Pulumi engine's orchestration through a strict fake StackRunner (the real program
under mocks): stack outputs land in the store, one owner per resource, migration both ways."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from penguinctl import ops
from penguinctl.core.resource import Recorded
from penguinctl.pulumi_engine import orchestrate
from penguinctl.pulumi_engine.migrate import migrate
from penguinctl.pulumi_engine.orchestrate import ENGINE_MARK, OwnedElsewhere
from penguinctl.session import Session
from tests.pulumi.conftest import REPO
from tests.pulumi.fake_runner import FakeRunner
from tests.pulumi.mockworld import fake_outputs

TOKEN = "cf-token-never-in-state-9f8e"


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nengine: pulumi\n"
        "pulumiPassphrase: env:TEST_PULUMI_PASSPHRASE\n"
        "providers:\n  hostwinds: {type: hostwinds, credentials: {apiKey: env:TEST_HW_KEY}}\n"
        "  cloudflare: {type: cloudflare, credentials: {apiToken: env:TEST_CF_TOKEN}}\n"
        "  mailu: {type: mailu}\n"
    )
    shutil.copytree(REPO / "examples", root / "specs")
    for k in list(os.environ):
        if k.startswith("PENGUIN_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PENGUIN_SECRET_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TEST_CF_TOKEN", TOKEN)
    s = Session(str(root))
    yield s
    s.close()


def specs(session: Session) -> list[str]:
    return [str(session.ws.root / "specs")]


def test_up_maps_stack_outputs_into_the_store(session: Session) -> None:
    runner = FakeRunner().expect("preview", "up")
    preview = orchestrate.preview(session, specs(session), None, runner)
    assert set(preview.tenants) == {"acme", "globex"} and preview.has_changes
    assert session.store.recorded() == {}  # a preview writes nothing

    report = orchestrate.up(session, specs(session), ["acme"], runner)
    assert [c for c in runner.calls if c[0] == "up"] == [("up", "tenant-acme")]
    spec = runner.specs[-1]
    assert spec.passphrase_ref == "env:TEST_PULUMI_PASSPHRASE"
    assert spec.env["PENGUIN_WORKSPACE"] == str(session.ws.root)
    recorded = session.store.recorded()
    assert report.recorded == len(recorded) > 10
    assert {r.tenant for r in recorded.values()} == {"acme"}
    assert all(r.outputs[ENGINE_MARK] == "pulumi" for r in recorded.values())
    server = recorded["server/acme-mx1"]
    assert server.outputs["ipv4"] == fake_outputs("server", "server/acme-mx1")["ipv4"]
    mx = recorded["dns_record/acme-outbound.example/MX/@"]
    assert mx.id == "dns_record/acme-outbound.example/MX/@_id"
    assert mx.outputs["zone_id"] == "zone-acme-outbound.example"
    spf = recorded["dns_record/acme-outbound.example/TXT/@/spf"]
    assert server.outputs["ipv4"] in spf.attrs["content"]  # references resolved in the store
    box = recorded["mailu_mailbox/jane@acme-outbound.example"]
    assert box.attrs["password"] == "(generated)"  # masked as the built-in engine records it
    # status reads the store whichever engine applied
    status = ops.status(session)
    assert status["tenants"]["acme"]["servers"][0]["ipv4"] == server.outputs["ipv4"]
    # the API token only ever went to the Cloudflare provider resource
    for reg in runner.last_registrations:
        if not reg.typ.startswith("pulumi:providers:"):
            assert TOKEN not in repr(reg.inputs)
    assert TOKEN not in repr(recorded)


def test_removed_from_the_specs_leaves_the_store_and_destroy_empties_it(
    session: Session,
) -> None:
    runner = FakeRunner().expect("up", "destroy")
    orchestrate.up(session, specs(session), ["globex"], runner)
    assert "mailu_mailbox/team@globex-sales.example" in session.store.recorded()
    path = session.ws.root / "specs" / "agency.yaml"
    path.write_text(path.read_text().replace("    - name: team\n      sender: false\n", ""))
    report = orchestrate.up(session, specs(session), ["globex"], runner)
    assert report.forgotten == 1
    assert "mailu_mailbox/team@globex-sales.example" not in session.store.recorded()
    report = orchestrate.destroy(session, specs(session), ["globex"], runner)
    assert report.forgotten > 10 and session.store.recorded() == {}
    assert runner.stacks == {}


def test_one_owner_per_resource(session: Session) -> None:
    orchestrate.up(session, specs(session), ["acme"], FakeRunner().expect("up"))
    with pytest.raises(OwnedElsewhere, match=r"acme.*pulumi engine"):
        orchestrate.owned_elsewhere(session.store.recorded(), "builtin", ["acme"])
    orchestrate.owned_elsewhere(session.store.recorded(), "builtin", ["globex"])  # not acme's
    session.store.put(Recorded("tenant/globex", "tenant", "globex", "globex", {}, {}))
    with pytest.raises(OwnedElsewhere, match=r"globex.*builtin engine"):
        orchestrate.up(session, specs(session), ["globex"], FakeRunner())  # strict: no call


def test_migrate_to_builtin_then_back(session: Session) -> None:
    runner = FakeRunner().expect("up")
    orchestrate.up(session, specs(session), None, runner)
    before = session.store.recorded()

    runner.expect("outputs", "forget")
    moved = migrate(session, "builtin", specs(session), runner)
    assert set(moved.tenants) == {"acme", "globex"}
    assert sum(moved.tenants.values()) == len(before)
    after = session.store.recorded()
    assert set(after) == set(before) and not any(ENGINE_MARK in r.outputs for r in after.values())
    assert runner.stacks == {}  # forgotten, nothing destroyed
    assert "engine: builtin" in session.ws.config_path.read_text()

    runner.expect("up")
    back = migrate(session, "pulumi", specs(session), runner)
    assert sum(back.tenants.values()) == len(before)
    imports = {s.name: dict(s.imports) for s in runner.specs if s.imports}
    acme = imports["tenant-acme"]
    assert acme["server/acme-mx1"] == after["server/acme-mx1"].id
    mx = after["dns_record/acme-outbound.example/MX/@"]
    assert acme[mx.key] == f"{mx.outputs['zone_id']}/{mx.id}"  # Cloudflare's import id
    assert all(r.outputs[ENGINE_MARK] == "pulumi" for r in session.store.recorded().values())


def test_failed_import_forgets_the_half_made_stack(session: Session) -> None:
    session.store.put(Recorded("tenant/acme", "tenant", "acme", "acme", {"plan": "growth"}, {}))
    runner = FakeRunner(fail_up=True).expect("up", "forget")
    with pytest.raises(RuntimeError, match="injected"):
        migrate(session, "pulumi", specs(session), runner)
    assert [c[0] for c in runner.calls] == ["up", "forget"]
    rec = session.store.get("tenant/acme")
    assert rec is not None and ENGINE_MARK not in rec.outputs  # still the built-in engine's
    assert "engine: pulumi" in session.ws.config_path.read_text()  # unchanged


def test_strict_runner_refuses_unexpected_calls(session: Session) -> None:
    with pytest.raises(AssertionError, match=r"unexpected StackRunner\.up"):
        orchestrate.up(session, specs(session), ["acme"], FakeRunner().expect("preview"))


def test_cli_routing_with_the_fake_runner(session: Session, capsys: Any) -> None:
    import json

    from penguinctl.cli.engine import EngineName, route
    from penguinctl.cli.output import Output
    from penguinctl.core.errors import PenguinError

    out = Output("json")
    files = specs(session)
    runner = FakeRunner().expect("refresh", "preview")
    assert route(session, None, "plan", out, files, ["acme"], refresh=True, runner=runner)
    assert [c[0] for c in runner.calls] == ["refresh", "preview"]  # engine: pulumi from the yaml
    text, printed, i = capsys.readouterr().out, [], 0
    while text[i:].strip():  # one JSON document per report (refresh, then preview)
        i += len(text[i:]) - len(text[i:].lstrip())
        doc, i = json.JSONDecoder().raw_decode(text, i)
        printed.append(doc)
    assert [p["command"] for p in printed] == ["refresh", "preview"]
    assert printed[-1]["command"] == "preview" and printed[-1]["tenants"]["acme"]["create"] > 10
    assert session.store.recorded() == {}

    with pytest.raises(PenguinError, match="without confirmation"):
        route(session, None, "apply", out, files, ["acme"], runner=FakeRunner())
    assert route(
        session, None, "apply", out, files, ["acme"], yes=True, runner=FakeRunner().expect("up")
    )
    assert len(session.store.recorded()) > 10
    # --engine builtin on those records: refused before anything is planned
    with pytest.raises(OwnedElsewhere):
        route(session, EngineName.builtin, "plan", out, files, ["acme"])
    assert route(session, EngineName.builtin, "plan", out, files, ["globex"]) is False


def test_sandbox_runs_as_a_service_for_pulumi_processes(tmp_path: Path, monkeypatch: Any) -> None:
    from penguinctl.sandbox import service
    from penguinctl.workspace import Workspace

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ws = Workspace(root=tmp_path, name="t", store_url="sqlite://", sandbox=True)
    state = tmp_path / "state" / "sandbox"
    with orchestrate.shared_sandbox(ws):
        info = service.live_service(state)
        assert info is not None  # another process (Pulumi's provider host) can reach it
    assert service.live_service(state) is None  # started here, stopped here
    service.start_background(state)
    try:
        with orchestrate.shared_sandbox(ws):
            pass
        assert service.live_service(state) is not None  # someone else's: left running
    finally:
        service.stop(state)


def test_set_engine_replaces_or_appends_the_top_level_key(tmp_path: Path) -> None:
    from penguinctl.pulumi_engine.migrate import set_engine

    cfg = tmp_path / "penguinctl.yaml"
    cfg.write_text(
        "kind: Workspace\nengine: builtin   # default\nprofiles:\n  prod:\n    engine: builtin\n"
    )
    assert set_engine(cfg, "pulumi")
    assert cfg.read_text() == (
        "kind: Workspace\nengine: pulumi\nprofiles:\n  prod:\n    engine: builtin\n"
    )  # the profile's own key is left alone
    assert not set_engine(cfg, "pulumi")  # already so: file untouched
    cfg.write_text("kind: Workspace")
    assert set_engine(cfg, "pulumi") and cfg.read_text() == "kind: Workspace\nengine: pulumi\n"


def test_status_refresh_refreshes_the_recorded_stacks_without_specs(
    session: Session, capsys: Any
) -> None:
    import json

    import typer

    from penguinctl.cli import status_refresh
    from penguinctl.core.errors import ConfigError

    orchestrate.up(session, specs(session), ["acme"], FakeRunner().expect("up"))
    before = session.store.recorded()
    runner = FakeRunner(stacks={"tenant-acme": {"k": {}}}).expect("refresh")
    report = orchestrate.refresh_recorded(session, None, runner)
    assert runner.calls == [("refresh", "tenant-acme")]  # only the stacks Pulumi owns
    assert runner.specs[0].config["penguinctl:specs"] == "[]"  # a refresh runs no program
    assert report.tenants == {"acme": {"same": 1}} and not report.has_changes
    assert session.store.recorded() == before  # Pulumi's state takes live values, not ours
    with pytest.raises(ConfigError, match="globex"):
        orchestrate.refresh_recorded(session, "globex", FakeRunner())  # nothing called

    class Ctx:  # what typer hands the command: the global options object
        class obj:
            @staticmethod
            def out() -> Any:
                from penguinctl.cli.output import Output

                return Output("json")

            @staticmethod
            def session(out: Any) -> Session:
                return Session(str(session.ws.root))

    class Drifted(FakeRunner):
        def refresh(self, spec: Any) -> Any:
            from penguinctl.pulumi_engine.runner import StackResult

            self._call("refresh", spec)
            return StackResult({"same": 3, "update": 1})

    capsys.readouterr()
    status_refresh.run(Ctx(), None, None, FakeRunner().expect("refresh"))  # type: ignore[arg-type]
    assert json.loads(capsys.readouterr().out)["command"] == "refresh"
    with pytest.raises(typer.Exit) as exc:  # drift reported by Pulumi: exit 2
        status_refresh.run(Ctx(), None, None, Drifted().expect("refresh"))  # type: ignore[arg-type]
    assert exc.value.exit_code == status_refresh.EXIT_DRIFT
