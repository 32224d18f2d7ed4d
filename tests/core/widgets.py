"""A store-backed test provider ("widget") for engine tests: strict and fault-injectable.

Objects live in a JSON file so that a separate process (a CLI run killed with
-9) and the test see the same world. ``faults`` in the file makes chosen keys
fail; every call is appended to ``calls``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext

_LOCK = threading.RLock()  # apply threads share the world file


def _path() -> Path:
    return Path(os.environ["WIDGET_WORLD"])


def load() -> dict[str, Any]:
    p = _path()
    return json.loads(p.read_text()) if p.exists() else {"objects": {}, "calls": [], "faults": {}}


def save(world: dict[str, Any]) -> None:
    with _LOCK:
        tmp = _path().with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(world))
        os.replace(tmp, _path())


class WidgetProvider(Provider):
    type = "testprov"
    kind = "widget"
    replace_fields = frozenset({"shape"})

    def _call(self, op: str, key: str) -> dict[str, Any]:
        with _LOCK:
            return self._record(op, key)

    def _record(self, op: str, key: str) -> dict[str, Any]:
        world = load()
        world["calls"].append(f"{op} {key}")
        fault = world["faults"].get(f"{op} {key}")
        save(world)
        if fault == "error":
            raise ProviderError(f"injected failure on {op} {key}", hint="remove the fault")
        return world

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        with _LOCK:
            world = self._call("create", key)
            world["objects"][key] = dict(attrs)
            save(world)
        return Created(id=key, outputs={"serial": f"sn-{key}", "ips": ["10.0.0.1", "10.0.0.2"]})

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        world = self._call("read", id)
        if id not in world["objects"]:
            raise NotFound(f"{id} is gone")
        return Observed(id=id, attrs=world["objects"][id], outputs={"serial": f"sn-{id}"})

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        with _LOCK:
            world = self._call("update", id)
            world["objects"][id] = dict(new)
            save(world)
        return {"serial": f"sn-{id}"}

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        with _LOCK:
            world = self._call("delete", id)
            world["objects"].pop(id, None)
            save(world)

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        world = load()
        if key in world["objects"]:
            return Observed(
                id=key,
                attrs=world["objects"][key],
                outputs={"serial": f"sn-{key}", "ips": ["10.0.0.1", "10.0.0.2"]},
            )
        return None
