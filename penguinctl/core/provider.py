"""The provider contract: what every provider implements, per resource kind.

It mirrors Pulumi's dynamic-provider contract (check / diff / create / read /
update / delete) so that the Pulumi engine can wrap the very same classes; hence
the rules every provider obeys:

* **A provider object holds no secret and no open socket.** Pulumi pickles
  dynamic providers into its state. Credentials and clients come from the
  :class:`ProviderContext` passed to every call.
* **Read before write.** ``create`` must be idempotent with respect to a lost
  reply: before buying or creating anything it looks the object up by a
  deterministic name, and returns the existing one if found.
* **The core plans; providers do not.** Diffing, ordering, safety checks and
  rendering belong to the engine. A provider only says which fields force a
  replacement and performs one change at a time.
* **Errors are typed.** Raise :class:`~penguinctl.core.errors.ProviderError`
  (or a subclass) with a hint; never let a vendor exception or a secret escape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from penguinctl.core.errors import NotFound


@dataclass(frozen=True)
class Created:
    """Result of ``create`` / ``import_``: the vendor id and the outputs."""

    id: str
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    """Result of ``read`` / ``list``: live inputs and outputs of an existing object.

    ``attrs`` holds the live values of the fields the resource manages, in the
    same shape as the desired attributes, so the core can diff them for drift.
    """

    id: str
    attrs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DiffResult:
    """Which fields differ and which of them force a replacement."""

    changed: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changed)


class Limiter(Protocol):
    def acquire(self, cost: int = 1) -> None: ...


class ProviderContext(Protocol):
    """What a provider may use during one call. Implemented by the engine.

    * ``settings``: the provider instance's non-secret settings from
      ``penguinctl.yaml`` (endpoint overrides, action-name overrides…);
    * ``credential(name)``: resolves a credential reference of the instance
      (``env:``/``file:``) to its value, registering it with the redactor;
    * ``endpoint(service)``: base URL for a vendor API; in sandbox mode the
      emulator's loopback URL;
    * ``limiter``: rate limiter shared by every worker using this credential;
    * ``secret(key, name)``/``set_secret``: generated secrets, encrypted in the store;
    * ``sandbox``: True when every endpoint is an emulator;
    * ``log(msg)``: a progress line (already redacted).
    """

    settings: Mapping[str, Any]
    sandbox: bool
    instance: str
    tenant: str

    def credential(self, name: str) -> str: ...

    def endpoint(self, service: str) -> str: ...

    @property
    def limiter(self) -> Limiter: ...

    def secret(self, key: str, name: str) -> str | None: ...

    def set_secret(self, key: str, name: str, value: str) -> None: ...

    def log(self, message: str) -> None: ...


class Provider(ABC):
    """Base class of every provider. One subclass per (provider type, resource kind).

    Class attributes:

    * ``type``: the provider type named in resources (``hostwinds``);
    * ``kind``: the resource kind it manages (``server``);
    * ``replace_fields``: attributes whose change needs a new object;
    * ``ignore_fields``: desired attributes not compared against live state
      (write-only values such as a generated password);
    * ``protected``: deletion needs ``--force`` (servers cost money and warm-up);
    * ``outputs_follow_attrs``: the outputs are a pure function of the attributes
      (local bookkeeping such as a sending-IP pool), so the plan can show what an
      update does to resources that refer to them (:meth:`planned_outputs`).
    """

    type: ClassVar[str]
    kind: ClassVar[str]
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    ignore_fields: ClassVar[frozenset[str]] = frozenset()
    protected: ClassVar[bool] = False
    supports_list: ClassVar[bool] = False
    outputs_follow_attrs: ClassVar[bool] = False

    # -- check / diff: pure, no I/O --------------------------------------------------

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        """Return problems with the desired attributes (empty when valid). No I/O."""
        return []

    def planned_outputs(self, attrs: Mapping[str, Any]) -> Mapping[str, Any]:
        """The outputs that resolved ``attrs`` will produce; only called when
        ``outputs_follow_attrs`` is set. Pure, no I/O."""
        raise NotImplementedError

    def diff(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> DiffResult:
        """Compare recorded (or live) attributes with desired ones. No I/O.

        The default compares every key present in either mapping, minus
        ``ignore_fields``; providers override :meth:`normalize` rather than this.
        """
        keys = sorted((set(old) | set(new)) - self.ignore_fields)
        changed = tuple(
            k for k in keys if self.normalize(k, old.get(k)) != self.normalize(k, new.get(k))
        )
        return DiffResult(changed, tuple(k for k in changed if k in self.replace_fields))

    def normalize(self, field_name: str, value: Any) -> Any:
        """Canonical form of a value for comparison (e.g. TXT strings joined)."""
        return value

    def effect(
        self, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> tuple[str, tuple[str, ...]] | None:
        """What an update from ``old`` to ``new`` does beyond its fields, for the plan:
        (one sentence, the services it restarts), or None. No I/O. Restarts count toward
        the blast-radius guard (``engine.check_safety``)."""
        return None

    # -- CRUD: may do I/O through ctx ------------------------------------------------

    @abstractmethod
    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        """Create the object, or return the one that already exists under the same
        deterministic identity (a retry after a lost reply must not duplicate)."""

    @abstractmethod
    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        """Read the live object. Raise :class:`NotFound` if it is gone."""

    def update(
        self,
        ctx: ProviderContext,
        id: str,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
    ) -> Mapping[str, Any]:
        """Change in place the fields that differ; return the new outputs."""
        raise NotImplementedError(f"{self.type} {self.kind} cannot be updated in place")

    @abstractmethod
    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        """Delete the object. Deleting something already gone is not an error."""

    # -- optional -------------------------------------------------------------------

    def list(self, ctx: ProviderContext) -> Iterable[Observed]:
        """Every object this provider manages in the instance (fast refresh)."""
        raise NotImplementedError

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        """Look the object up by its deterministic identity (settling a pending create).

        The default returns None, meaning "cannot tell": the engine then creates,
        which is only safe for providers whose ``create`` is itself idempotent.
        """
        return None

    def cost(self, ctx: ProviderContext, attrs: Mapping[str, Any]) -> float | None:
        """Monthly price of the object ``attrs`` describe, or None when it costs nothing
        penguinctl can tell. Plans call it only for kinds whose provider overrides it, and
        only for creates, replaces and deletes (``Plan.cost``); it may do I/O (a price list),
        so it should be cheap to call many times (cache the list per process)."""
        return None

    def adopt(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed:
        """Take over the foreign object in the way of ``key`` (``apply --adopt KEY``).

        Marks it as penguinctl's without changing its content and returns it; the engine
        then updates it to ``attrs``. Raise :class:`NotFound` when nothing is in the way.
        """
        raise NotImplementedError(f"{self.type} {self.kind} cannot adopt foreign objects")

    def import_(self, ctx: ProviderContext, key: str, id: str) -> Observed:
        """Adopt an existing object by vendor id, without changing it."""
        try:
            return self.read(ctx, id, {})
        except NotFound:
            raise
