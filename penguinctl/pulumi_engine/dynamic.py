"""``pulumi.dynamic`` resources whose providers are penguinctl's own (no second implementation).

:class:`PenguinProvider` maps Pulumi's dynamic-provider contract onto
:class:`~penguinctl.core.provider.Provider` from the registry: ``check`` → ``check``,
``diff`` → ``diff`` (replacement fields, delete before replace as the built-in engine
does), ``create``/``read``/``update``/``delete`` → the same methods with a context built
at call time (:mod:`.runtime`). The object holds strings only: Pulumi pickles it (dill)
into the stack state, so it must carry no secret, client, lock or socket.

Property layout: the resource's attributes as the built-in engine records them (secrets
masked, references resolved) plus one output-only property, ``outputs``, holding what
the provider returned (a server's addresses, a DKIM public key).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from functools import cache
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from penguinctl.core import registry
from penguinctl.core.errors import NotFound
from penguinctl.core.provider import Provider
from penguinctl.pulumi_engine import runtime
from penguinctl.pulumi_engine.tokens import OUTPUTS, camel, dynamic_module


class PenguinProvider(ResourceProvider):
    """Pulumi's view of one penguinctl resource's provider; plain strings only."""

    def __init__(
        self,
        provider_type: str,
        kind: str,
        key: str,
        instance: str,
        tenant: str,
        fields: tuple[str, ...],
        workspace: str | None = None,
        nulls: tuple[tuple[str, ...], ...] = (),
    ) -> None:
        super().__init__()
        self.provider_type = provider_type
        self.kind = kind
        self.key = key
        self.instance = instance
        self.tenant = tenant
        self.fields = fields
        self.workspace = workspace
        self.nulls = nulls  # paths of nested None values, which Pulumi drops from inputs

    # -- helpers ---------------------------------------------------------------------------

    def _target(self) -> Provider:
        return registry.get(self.provider_type, self.kind)

    def _ctx(self) -> Any:
        return runtime.context(self.provider_type, self.instance, self.tenant, self.workspace)

    def _attrs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        # Pulumi drops None-valued inputs; providers see every field, as in the built-in engine.
        attrs = {f: _plain(props.get(f)) for f in self.fields}
        for path in self.nulls:
            _restore(attrs, path)
        return attrs

    def _outs(self, props: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in props.items() if k in self.fields and v is not None}
        return {**kept, OUTPUTS: dict(outputs)}

    # -- the dynamic-provider contract --------------------------------------------------------

    def configure(self, req: Any) -> None:
        config = getattr(req, "config", None)
        if config is not None:
            runtime.configure(_config_items(config))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        for problem in self._target().check(self._attrs(news)):
            head = problem.split(":", 1)[0]
            failures.append(CheckFailure(head if head in self.fields else "", problem))
        return CheckResult(news, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        result = self._target().diff(self._attrs(_olds), self._attrs(_news))
        return DiffResult(
            changes=result.has_changes,
            replaces=list(result.replaces),
            stables=[],
            delete_before_replace=True,  # as the built-in engine: delete, then create
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        created = self._target().create(self._ctx(), self.key, self._attrs(props))
        return CreateResult(id_=created.id, outs=self._outs(props, created.outputs))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        target = self._target()
        try:
            seen = target.read(self._ctx(), id_, self._attrs(props))
        except NotFound:
            return ReadResult(id_="", outs={})  # gone: refresh drops it from the stack
        live = {
            k: v
            for k, v in seen.attrs.items()
            if k in self.fields and k not in target.ignore_fields
        }
        before = props.get(OUTPUTS) or {}
        return ReadResult(
            id_=seen.id,
            outs=self._outs({**props, **live}, {**before, **seen.outputs}),
        )

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        new_outputs = self._target().update(
            self._ctx(), _id, self._attrs(_olds), self._attrs(_news)
        )
        before = _olds.get(OUTPUTS) or {}
        return UpdateResult(outs=self._outs(_news, {**before, **dict(new_outputs or {})}))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        try:
            self._target().delete(self._ctx(), _id, self._attrs(_props))
        except NotFound:
            return  # already gone: the goal of a delete is met


def none_paths(
    attrs: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], ...]:
    """Paths of the None values nested in mappings (top-level fields are always restored)."""
    out: list[tuple[str, ...]] = []
    for k, v in attrs.items():
        if isinstance(v, Mapping):
            out.extend(none_paths(v, (*prefix, k)))
        elif v is None and prefix:
            out.append((*prefix, k))
    return tuple(out)


def _restore(attrs: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = attrs
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.setdefault(path[-1], None)


def _plain(value: Any) -> Any:
    # Pulumi's wire format has one number type: integral floats are ints again, as the
    # built-in engine passes them (ports, TTLs, quotas). Proxies become plain data.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _config_items(config: Any) -> dict[str, Any]:
    raw = getattr(config, "_props", None) or {}  # pulumi.dynamic.config.Config
    return dict(raw) if isinstance(raw, Mapping) else {}


# pulumi.dynamic.serialize_provider (SDK 3.272) wraps pickle._Pickler._batch_setitems
# in a sorting wrapper on every call and never restores it, so each dynamic resource
# adds a stack frame to every later dict pickle: a stack of a few hundred dynamic
# resources in one program ends in RecursionError. Each of ours starts from the
# original again (one wrapper deep), which keeps the sorted, deterministic pickles.
_ORIGINAL_BATCH_SETITEMS = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]


def _unwrap_pickler() -> None:
    pickle._Pickler._batch_setitems = _ORIGINAL_BATCH_SETITEMS  # type: ignore[attr-defined]


@cache
def resource_class(provider_type: str, kind: str) -> type[Resource]:
    """The Resource subclass of ``kind`` resources of ``provider_type`` (type token per pair)."""
    name = camel(kind)

    class _Penguin(Resource, module=dynamic_module(provider_type), name=name):  # type: ignore[call-arg]
        outputs: pulumi.Output[dict[str, Any]]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            _unwrap_pickler()
            super().__init__(*args, **kwargs)

    _Penguin.__name__ = _Penguin.__qualname__ = f"{camel(provider_type)}{name}"
    return _Penguin
