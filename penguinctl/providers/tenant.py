"""The tenant provider: tenants live in penguinctl's own store, not at a vendor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from penguinctl.core.errors import NotFound
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext


def _store(ctx: ProviderContext) -> Any:
    return ctx.services["store"]  # type: ignore[attr-defined]


class TenantProvider(Provider):
    type = "tenant"
    kind = "tenant"

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        name = key.split("/", 1)[1]
        _store(ctx).upsert_tenant(name, attrs.get("display_name"), dict(attrs))
        return Created(id=name, outputs={"name": name})

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        for row in _store(ctx).tenants():
            if row["name"] == id:
                return Observed(id=id, attrs=row.get("data") or {}, outputs={"name": id})
        raise NotFound(f"tenant {id} is not in the store")

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        _store(ctx).upsert_tenant(id, new.get("display_name"), dict(new))
        return {"name": id}

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        _store(ctx).delete_tenant(id)

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        try:
            return self.read(ctx, key.split("/", 1)[1], attrs)
        except NotFound:
            return None
