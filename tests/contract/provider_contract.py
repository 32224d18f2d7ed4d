"""The provider contract suite: tests every :class:`~penguinctl.core.provider.Provider` must pass.

Subclass :class:`ProviderContract` in your area's test module (its name must start with
``Test``) and define these fixtures:

* ``provider`` -> the :class:`Provider` instance under test;
* ``ctx`` -> a :class:`ProviderContext` bound to a live (loopback) server or emulator,
  fresh for every test;
* ``sample_attrs`` -> a callable ``(key) -> attrs``: valid desired attributes for ``key``;
* ``mutate`` -> a callable ``(attrs) -> attrs``: a *new* mapping that differs from
  ``attrs`` in at least one field that can be updated in place (not a replace field).

All four must be defined *on the subclass*: the base class's placeholders shadow any
``ctx`` or ``provider`` fixture from a conftest (delegate to a helper there if you like).

Optional fixtures, with defaults:

* ``key`` -> the resource key used by the tests (default ``"<kind>/contract-<n>"``);
* ``secret_values`` -> secret strings that must never appear in an error (default: every
  credential ``ctx`` can resolve from its ``credentials`` mapping);
* ``bad_ctx`` -> a context whose credential the vendor rejects, or None to skip that test.

The suite only uses the public contract (create/read/update/delete/find/list/diff), so a
provider that passes it can be driven by the engine and wrapped for Pulumi. Like certbot's
shared DNS-plugin test base, it says *what* must hold; area tests say how their vendor's
quirks are handled.
"""

from __future__ import annotations

import copy
import itertools
import pickle
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from penguinctl.core.errors import NotFound, PenguinError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext

SampleAttrs = Callable[[str], dict[str, Any]]
Mutate = Callable[[Mapping[str, Any]], dict[str, Any]]

_counter = itertools.count(1)


def _different(value: Any) -> Any:
    """A value of the same type that differs from ``value`` (for replace-field probes)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, dict):
        return {**value, "x": "x"}
    return "x"


def _error_texts(exc: PenguinError) -> Iterator[str]:
    yield str(exc)
    yield repr(exc)
    yield exc.message
    yield exc.hint or ""
    yield repr(exc.to_dict())
    yield repr(exc.args)


class ProviderContract:
    """Base class of the contract suite; see the module docstring for the fixtures."""

    # -- fixtures a subclass must provide ------------------------------------------------

    @pytest.fixture
    def provider(self) -> Provider:
        raise NotImplementedError("define a `provider` fixture")

    @pytest.fixture
    def ctx(self) -> ProviderContext:
        raise NotImplementedError("define a `ctx` fixture")

    @pytest.fixture
    def sample_attrs(self) -> SampleAttrs:
        raise NotImplementedError("define a `sample_attrs` fixture: (key) -> attrs")

    @pytest.fixture
    def mutate(self) -> Mutate:
        raise NotImplementedError("define a `mutate` fixture: (attrs) -> changed attrs")

    # -- fixtures with defaults ---------------------------------------------------------

    @pytest.fixture
    def key(self, provider: Provider) -> str:
        return f"{provider.kind}/contract-{next(_counter)}"

    @pytest.fixture
    def secret_values(self, ctx: ProviderContext) -> list[str]:
        names = getattr(ctx, "credentials", {}) or {}
        values = []
        for name in names:
            try:
                values.append(ctx.credential(name))
            except PenguinError:
                continue
        return [v for v in values if v]

    @pytest.fixture
    def bad_ctx(self) -> ProviderContext | None:
        return None

    # -- helpers --------------------------------------------------------------------------

    def assert_same(self, provider: Provider, live: Mapping[str, Any], desired: Mapping[str, Any]):
        result = provider.diff(live, desired)
        assert not result.has_changes, (
            f"live differs from desired in {result.changed}: "
            f"{ {k: (live.get(k), desired.get(k)) for k in result.changed} }"
        )

    def assert_no_secret(self, exc: PenguinError, secrets: list[str]) -> None:
        for text in _error_texts(exc):
            for secret in secrets:
                assert secret not in text, f"a secret leaked into {type(exc).__name__}"

    # -- the contract ---------------------------------------------------------------------

    def test_create_then_read_equal(
        self, provider: Provider, ctx: ProviderContext, key: str, sample_attrs: SampleAttrs
    ) -> None:
        attrs = sample_attrs(key)
        assert provider.check(attrs) == [], "sample_attrs must be valid"
        created = provider.create(ctx, key, attrs)
        assert isinstance(created, Created) and created.id
        observed = provider.read(ctx, created.id, attrs)
        assert isinstance(observed, Observed)
        assert observed.id == created.id
        self.assert_same(provider, observed.attrs, attrs)

    def test_create_twice_is_idempotent(
        self, provider: Provider, ctx: ProviderContext, key: str, sample_attrs: SampleAttrs
    ) -> None:
        attrs = sample_attrs(key)
        first = provider.create(ctx, key, attrs)
        second = provider.create(ctx, key, attrs)
        assert second.id == first.id
        if provider.supports_list:
            ids = [o.id for o in provider.list(ctx)]
            assert ids.count(first.id) == 1

    def test_update_changes_only_what_differs(
        self,
        provider: Provider,
        ctx: ProviderContext,
        key: str,
        sample_attrs: SampleAttrs,
        mutate: Mutate,
    ) -> None:
        old = sample_attrs(key)
        created = provider.create(ctx, key, old)
        new = mutate(copy.deepcopy(old))
        change = provider.diff(old, new)
        assert change.has_changes, "mutate() must change at least one field"
        assert not change.replaces, "mutate() must change only fields updatable in place"
        provider.update(ctx, created.id, old, new)
        observed = provider.read(ctx, created.id, new)
        assert observed.id == created.id
        self.assert_same(provider, observed.attrs, new)

    def test_delete_then_read_is_not_found(
        self, provider: Provider, ctx: ProviderContext, key: str, sample_attrs: SampleAttrs
    ) -> None:
        attrs = sample_attrs(key)
        created = provider.create(ctx, key, attrs)
        provider.delete(ctx, created.id, attrs)
        with pytest.raises(NotFound):
            provider.read(ctx, created.id, attrs)

    def test_delete_twice_is_fine(
        self, provider: Provider, ctx: ProviderContext, key: str, sample_attrs: SampleAttrs
    ) -> None:
        attrs = sample_attrs(key)
        created = provider.create(ctx, key, attrs)
        provider.delete(ctx, created.id, attrs)
        provider.delete(ctx, created.id, attrs)
        assert provider.find(ctx, key, attrs) is None

    def test_diff_is_pure_and_respects_replace_fields(
        self, provider: Provider, key: str, sample_attrs: SampleAttrs, mutate: Mutate
    ) -> None:
        attrs = sample_attrs(key)
        before = copy.deepcopy(attrs)
        assert not provider.diff(attrs, copy.deepcopy(attrs)).has_changes
        changed = mutate(copy.deepcopy(attrs))
        first = provider.diff(attrs, changed)
        assert first == provider.diff(attrs, changed), "diff must be deterministic"
        assert attrs == before, "diff must not modify its inputs"
        assert set(first.replaces) <= set(first.changed)
        assert set(first.replaces) <= set(provider.replace_fields)
        for name in sorted(provider.replace_fields & set(attrs)):
            probe = dict(attrs)
            probe[name] = _different(attrs[name])
            result = provider.diff(attrs, probe)
            assert name in result.replaces, f"changing {name} must force a replacement"

    def test_find_locates_created_object(
        self, provider: Provider, ctx: ProviderContext, key: str, sample_attrs: SampleAttrs
    ) -> None:
        attrs = sample_attrs(key)
        assert provider.find(ctx, key, attrs) is None
        created = provider.create(ctx, key, attrs)
        found = provider.find(ctx, key, attrs)
        assert found is not None and found.id == created.id
        self.assert_same(provider, found.attrs, attrs)

    def test_no_secret_in_errors(
        self,
        provider: Provider,
        ctx: ProviderContext,
        key: str,
        sample_attrs: SampleAttrs,
        secret_values: list[str],
        bad_ctx: ProviderContext | None,
    ) -> None:
        attrs = sample_attrs(key)
        created = provider.create(ctx, key, attrs)
        provider.delete(ctx, created.id, attrs)
        with pytest.raises(NotFound) as gone:
            provider.read(ctx, created.id, attrs)
        self.assert_no_secret(gone.value, secret_values)
        if bad_ctx is None:
            return
        bad_secrets = [*secret_values]
        for name in getattr(bad_ctx, "credentials", {}) or {}:
            bad_secrets.append(bad_ctx.credential(name))
        with pytest.raises(PenguinError) as rejected:
            provider.create(bad_ctx, key, attrs)
        self.assert_no_secret(rejected.value, [s for s in bad_secrets if s])

    def test_provider_holds_no_secret(
        self,
        provider: Provider,
        ctx: ProviderContext,
        key: str,
        sample_attrs: SampleAttrs,
        secret_values: list[str],
    ) -> None:
        # Pulumi pickles dynamic providers into its state: after a call, the provider
        # object must still pickle, and carry neither a secret nor a client.
        provider.create(ctx, key, sample_attrs(key))
        data = pickle.dumps(provider)
        for secret in secret_values:
            assert secret.encode() not in data, "the provider object kept a secret"
