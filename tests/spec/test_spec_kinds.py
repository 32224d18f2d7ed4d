"""Registering a new kind (as the campaigns area will) without touching the loader."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from penguinctl.core.errors import Issue
from penguinctl.spec import SpecSet, json_schema, kinds, load, register_kind
from tests.spec.conftest import TENANT, issues_of, where


class WidgetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str
    size: int = 1


def check_widgets(specs: SpecSet) -> Iterator[Issue]:
    for doc in specs.of("Widget").values():
        if specs.is_missing("Tenant", doc.spec.tenant):
            yield doc.issue("spec.tenant", f"tenant '{doc.spec.tenant}' does not exist")


@pytest.fixture
def isolated_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Import every declared kind's module first: a module first imported while the
    # registry is a copy would register into the copy only, and be lost after the test.
    kinds.all_kinds()
    monkeypatch.setattr(kinds, "_KINDS", dict(kinds._KINDS))
    monkeypatch.setattr(kinds, "_MODULES", dict(kinds._MODULES))


WIDGETS = """\
---
apiVersion: penguinctl/v1
kind: Widget
metadata: {name: w1}
spec: {tenant: acme, size: 3}
---
apiVersion: penguinctl/v1
kind: Widget
metadata: {name: w2}
spec: {tenant: nobody, colour: red}
---
apiVersion: penguinctl/v1
kind: Widget
metadata: {name: w3}
spec: {tenant: nobody}
"""


def test_registered_kind_is_loaded_validated_and_cross_checked(write, isolated_kinds) -> None:
    register_kind("Widget", WidgetSpec, check=check_widgets)
    issues = issues_of(write("w.yaml", TENANT + WIDGETS))
    assert [(where(i), i.message) for i in issues] == [
        ("w.yaml:17:24 spec.colour", "unknown field 'colour'"),
        ("w.yaml:22:16 spec.tenant", "tenant 'nobody' does not exist"),
    ]
    specs = load([write("ok.yaml", TENANT + "---\n" + WIDGETS.split("---\n", 2)[1])])
    assert specs.of("Widget")["w1"].spec.size == 3
    assert specs.of("Widget")["w1"].source == "ok.yaml:10"
    refs = [branch["$ref"] for branch in json_schema()["oneOf"]]
    assert refs[-1] == "#/$defs/WidgetDocument"


def test_declared_kind_module_is_imported_lazily(
    write, isolated_kinds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "spec_gadget_kind.py"
    module.write_text(
        textwrap.dedent(
            """\
            from pydantic import BaseModel, ConfigDict
            from penguinctl.spec import register_kind

            class GadgetSpec(BaseModel):
                model_config = ConfigDict(extra="forbid")
                label: str

            register_kind("Gadget", GadgetSpec)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    kinds.declare("Gadget", "spec_gadget_kind")
    assert "Gadget" in kinds.names()
    assert "spec_gadget_kind" not in sys.modules
    text = "apiVersion: penguinctl/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {label: x}\n"
    specs = load([write("g.yaml", text)])
    assert specs.of("Gadget")["g"].spec.label == "x"
    monkeypatch.delitem(sys.modules, "spec_gadget_kind")
    # unknown kinds suggest declared ones
    [issue] = issues_of(write("h.yaml", text.replace("Gadget", "Gadgte")))
    assert issue.hint == "did you mean 'Gadget'?"
