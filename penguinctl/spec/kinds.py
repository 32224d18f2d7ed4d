"""The registry of spec kinds: name -> (spec model, cross-check).

A kind lives in its own area's module, which calls :func:`register_kind` when
imported. The loader imports such modules lazily, on first use of a kind, from the
table :data:`_MODULES`; an area adds its line there (e.g.
``"Campaign": "penguinctl.campaigns.spec"``) or calls :func:`declare` itself. The
loader never needs editing to gain a kind.

A cross-check is ``check(specs: SpecSet) -> Iterable[Issue]``: it runs once per
load, after every document has been validated, and may look at all documents
(``specs.of("Tenant")``). Use :meth:`Document.issue` to position an issue, and
:meth:`SpecSet.is_missing` before reporting a dangling reference (a document that
exists but failed validation is not "missing").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from penguinctl.core.errors import Issue
from penguinctl.spec.fields import Name

if TYPE_CHECKING:
    from penguinctl.spec.document import SpecSet

API_VERSION = "penguinctl/v1"

CrossCheck = Callable[["SpecSet"], Iterable[Issue]]

# kind -> module whose import registers it. Areas add their line; order is the
# order kinds appear in the JSON schema and in error hints.
_MODULES: dict[str, str] = {
    "Tenant": "penguinctl.spec.builtin",
    "Server": "penguinctl.spec.builtin",
    "MailDomain": "penguinctl.spec.builtin",
    "IpPool": "penguinctl.spec.builtin",
    "Campaign": "penguinctl.campaigns.spec",
}


class Metadata(BaseModel):
    """``metadata``: a DNS-label-like name, unique per kind, and free-form labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    labels: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """A registered kind. ``envelope`` validates a whole document of this kind."""

    name: str
    model: type[BaseModel]
    check: CrossCheck | None
    envelope: type[BaseModel]


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, model: type[BaseModel], *, check: CrossCheck | None = None) -> Kind:
    """Register (or replace) the kind ``name`` with its spec ``model`` and cross-check."""
    kind = Kind(name=name, model=model, check=check, envelope=_envelope(name, model))
    _KINDS[name] = kind
    _MODULES.setdefault(name, model.__module__)
    return kind


def declare(name: str, module: str) -> None:
    """Declare that importing ``module`` registers the kind ``name`` (imported lazily)."""
    _MODULES[name] = module


def names() -> list[str]:
    """Every known kind name, registered or only declared (imports nothing)."""
    return list(dict.fromkeys([*_MODULES, *_KINDS]))


def get(name: str) -> Kind | None:
    """The kind ``name``, importing its module on first use; None if unknown."""
    kind = _KINDS.get(name)
    if kind is None and name in _MODULES:
        importlib.import_module(_MODULES[name])
        kind = _KINDS.get(name)
    return kind


def all_kinds() -> list[Kind]:
    """Every kind, in :func:`names` order (imports every declared module)."""
    found = [get(name) for name in names()]
    return [kind for kind in found if kind is not None]


def _envelope(name: str, model: type[BaseModel]) -> type[BaseModel]:
    # A kind whose spec has no required field may omit ``spec:`` entirely.
    try:
        model.model_validate({})
    except ValidationError:
        spec_field: Any = (model, ...)
    else:
        spec_field = (model, Field(default_factory=model))
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{name}Document",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, frozen=True),
        api_version=(Literal[API_VERSION], Field(alias="apiVersion")),  # type: ignore[valid-type]
        kind=(Literal[name], ...),  # type: ignore[valid-type]
        metadata=(Metadata, ...),
        spec=spec_field,
    )
