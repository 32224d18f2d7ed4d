"""Resources: the plain data the engine reconciles.

A spec expands into resources (see :mod:`penguinctl.core.expand`). A resource is
identified by a stable ``key`` of the form ``kind/name`` (``server/acme-mx1``,
``dns_record/example.com/MX/@``): the part before the first slash is the kind.

Attribute values are JSON-compatible data, or a :class:`Ref` to an output of
another resource that is only known once that resource is applied (a new
server's IPv4 inside an A record), or a :class:`Generated` placeholder for a
secret that penguinctl creates at apply time (a mailbox password).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SPF_IP = "{spf-ip}"  # ``each``: ip4:ADDR or ip6:ADDR by the address's family


def _each(each: str, value: Any) -> str:
    if each == SPF_IP:
        return f"ip6:{value}" if ":" in str(value) else f"ip4:{value}"
    return each.format(value)


@dataclass(frozen=True, order=True)
class Ref:
    """A reference to ``output`` of the resource ``key``, resolved at apply time.

    ``template`` lets a value embed the output, e.g. ``"v=spf1 ip4:{} -all"``.
    """

    key: str
    output: str
    template: str = "{}"
    each: str | None = None  # applied to every item of a list output, e.g. "ip4:{}"

    def render(self, value: Any) -> Any:
        if isinstance(value, list) and self.each is not None:
            value = " ".join(_each(self.each, v) for v in value)
        if self.template == "{}":
            return value
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        return self.template.format(value)

    def to_json(self) -> dict[str, str]:
        data = {"$ref": f"{self.key}#{self.output}"}
        if self.template != "{}":
            data["template"] = self.template
        if self.each is not None:
            data["each"] = self.each
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Ref:
        key, _, output = data["$ref"].rpartition("#")
        return cls(key, output, data.get("template", "{}"), data.get("each"))

    def __str__(self) -> str:
        shown = f"(known after apply: {self.key}#{self.output})"
        return shown


@dataclass(frozen=True)
class Generated:
    """A secret that penguinctl generates at apply time; plans show ``(generated)``."""

    kind: str = "password"  # password | rsa2048 | token

    def to_json(self) -> dict[str, str]:
        return {"$generated": self.kind}

    def __str__(self) -> str:
        return "(generated)"


SENSITIVE = "(sensitive)"
GENERATED = "(generated)"


def kind_of(key: str) -> str:
    return key.split("/", 1)[0]


def name_of(key: str) -> str:
    return key.split("/", 1)[1] if "/" in key else key


@dataclass(frozen=True)
class Resource:
    """A desired object.

    * ``provider`` is the provider *type* (``hostwinds``, ``cloudflare``, ``tenant``…);
    * ``instance`` names the configured provider instance in ``penguinctl.yaml``
      (an agency's client brings its own Cloudflare account): ``"default"`` unless
      the spec says otherwise;
    * ``tenant`` owns the resource (every stored row carries it);
    * ``sensitive`` names attributes whose values are never shown or stored in clear;
    * ``why`` is the one sentence a plan shows next to the change.
    """

    key: str
    provider: str
    tenant: str
    attrs: Mapping[str, Any]
    why: str = ""
    instance: str = "default"
    depends_on: tuple[str, ...] = ()
    sensitive: frozenset[str] = frozenset()
    source: str | None = None  # ``file:line`` of the spec document it came from

    @cached_property
    def kind(self) -> str:
        return kind_of(self.key)

    @property
    def name(self) -> str:
        return name_of(self.key)

    def refs(self) -> Iterator[Ref]:
        """Every reference in the attributes (nested lists and dicts included)."""
        yield from walk_refs(self.attrs)

    def dependencies(self) -> frozenset[str]:
        """Explicit dependencies plus the producers of every reference (computed once)."""
        return self._dependencies

    @cached_property
    def _dependencies(self) -> frozenset[str]:
        # cached_property writes the instance __dict__ directly, which a frozen
        # dataclass allows; attributes are never mutated after construction.
        return frozenset(self.depends_on) | {r.key for r in self.refs()}


_SCALARS = (str, int, float, bool, type(None))


def walk_refs(value: Any) -> Iterator[Ref]:
    """Every :class:`Ref` inside ``value`` (nested lists and mappings included)."""
    # Plain type checks first: abc Mapping checks dominate large plans otherwise.
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, (dict, Mapping)):
        for v in value.values():
            if not isinstance(v, _SCALARS):
                yield from walk_refs(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            if not isinstance(v, _SCALARS):
                yield from walk_refs(v)


def resolve(value: Any, lookup: Any) -> Any:
    """Replace every :class:`Ref` in ``value`` with ``lookup(ref)``'s rendered output."""
    if isinstance(value, Ref):
        return value.render(lookup(value))
    if isinstance(value, Mapping):
        return {k: resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, lookup) for v in value]
    return value


def to_jsonable(value: Any) -> Any:
    """JSON form of attribute values, with references and generated markers kept as data."""
    if isinstance(value, (Ref, Generated)):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable` (saved plans)."""
    if isinstance(value, Mapping):
        if "$ref" in value:
            return Ref.from_json(value)
        if "$generated" in value and len(value) == 1:
            return Generated(value["$generated"])
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


def digest(value: Any) -> str:
    """A stable sha256 of JSON-compatible data (used for plan checksums and fingerprints)."""
    blob = json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Recorded:
    """What the store remembers of an applied resource.

    ``attrs`` are the inputs as last applied (references resolved, secrets
    replaced by :data:`SENSITIVE`); ``outputs`` what the provider returned
    (addresses, ids); ``id`` the vendor's identifier.
    """

    key: str
    provider: str
    tenant: str
    id: str
    attrs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    instance: str = "default"
    status: str = "ok"  # ok | pending | tainted

    @property
    def kind(self) -> str:
        return kind_of(self.key)
