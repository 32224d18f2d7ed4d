"""Cloudflare DNS records (``dns_record`` resources of provider type ``cloudflare``).

It speaks the Cloudflare API v4 (apis.md §3) with httpx directly rather than the
``cloudflare`` SDK: the SDK costs about 244 ms to import, retries on its own (we need
our shared limiter and :func:`penguinctl.core.http.request`), and we need the batch
endpoint on our own terms.

**Ownership.** Every record penguinctl creates carries the comment ``penguinctl:<key>``
(see :func:`marker`); tags are not used because some plans limit them. A record with the
same name and type but without a ``penguinctl:`` comment is *foreign*: when it is in
the way of ours (an SPF at the apex beside our SPF, a second DMARC, another MX, a CNAME
clash) :meth:`CloudflareRecordProvider.create` raises :class:`Conflict`, and the only
way past it is :func:`adopt`, which writes our marker on the foreign record.

**Creates are never re-sent blindly.** A POST whose reply is lost (transport error or
5xx) is settled by :meth:`~CloudflareRecordProvider.find` before it is sent again;
81057/81058 ("already exists") are settled by reading the identical record back.
Every other call is idempotent and retried by ``core.http.request``.

Attributes: ``zone`` (apex, punycode), ``name`` (FQDN), ``type``, ``content`` (TXT:
the whole unsplit text, unquoted; MX: target host), ``ttl`` (1 = automatic),
``priority`` (MX, else None), ``proxied``. Outputs: ``id``, ``zone_id``, ``fqdn``.

Context settings read: ``per_page`` (list page size, default 5000), ``timeout``
(seconds, default 30), ``zones`` (zone names :meth:`list` covers besides those looked up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from penguinctl.core.errors import Conflict, NotFound, ProviderError, RateLimited
from penguinctl.core.provider import Created, DiffResult, Observed, Provider, ProviderContext
from penguinctl.providers._cloudflare_records import (
    MARKER,
    PROXIABLE,
    TYPES,
    canonical,
    conflict,
    in_the_way,
    is_ours,
    marker,
    observed,
    outputs,
    patch_body,
    request_body,
    txt_join,
)
from penguinctl.providers._dns_record_checks import record_problems

if TYPE_CHECKING:
    from penguinctl.providers._cloudflare_client import CloudflareClient


def _api(ctx: ProviderContext) -> CloudflareClient:
    # Imported on first API call: planning (diff, normalize) needs none of httpx, whose
    # import is ~1/4 of a 1,000-domain plan (bench/dns_plan.py).
    from penguinctl.providers._cloudflare_client import CloudflareClient

    return CloudflareClient(ctx)


__all__ = [
    "BatchResult",
    "CloudflareRecordProvider",
    "adopt",
    "apply_batch",
    "canonical",
    "marker",
    "txt_join",
]

POST_ATTEMPTS = 3
DUPLICATE_CODES = frozenset({"81057", "81058"})


class CloudflareRecordProvider(Provider):
    """DNS records in Cloudflare zones, owned through the ``penguinctl:<key>`` comment."""

    type = "cloudflare"
    kind = "dns_record"
    replace_fields = frozenset({"zone", "name", "type"})
    supports_list = True

    # -- pure ------------------------------------------------------------------------------

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = record_problems(attrs, canonical=canonical, types=TYPES, vendor="Cloudflare")
        rtype = str(attrs.get("type", "")).upper()
        ttl = attrs.get("ttl", 1)
        if not isinstance(ttl, int) or not (ttl == 1 or 60 <= ttl <= 86400):
            problems.append("ttl must be 1 (automatic) or 60..86400 seconds")
        if attrs.get("proxied") and rtype not in PROXIABLE:
            problems.append(f"{rtype} records cannot be proxied (only A, AAAA and CNAME)")
        return problems

    def normalize(self, field_name: str, value: Any) -> Any:
        return canonical("", field_name, value)

    def diff(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> DiffResult:
        # Content is compared by record type (host names fold case, TXT text does
        # not), which the type-blind normalize() cannot know.
        rtype = str(new.get("type") or old.get("type") or "").upper()
        keys = sorted((set(old) | set(new)) - self.ignore_fields)
        changed = tuple(
            k for k in keys if canonical(rtype, k, old.get(k)) != canonical(rtype, k, new.get(k))
        )
        return DiffResult(changed, tuple(k for k in changed if k in self.replace_fields))

    # -- CRUD ------------------------------------------------------------------------------

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        with _api(ctx) as api:
            zone = api.zone(attrs["zone"])
            rtype = str(attrs["type"]).upper()
            fqdn = canonical(rtype, "name", attrs["name"])
            here = api.records(zone["id"], {"name.exact": fqdn})
            tag = marker(key)
            mine = [r for r in here if r["type"] == rtype and r.get("comment") == tag]
            foreign = [r for r in here if not is_ours(r) and in_the_way(attrs, r)]
            if mine:
                for other in foreign:  # ours stands; the other is for `dns check` to flag
                    api.log(f"a foreign {other['type']} record {other['name']} sits beside {key}")
                return self._converge(api, zone, mine[0], attrs)
            if foreign:
                raise conflict(foreign[0], key)
            return self._post(api, zone, key, attrs)

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        with _api(ctx) as api:
            zone = api.zone(_zone_name(attrs))
            return observed(api.record(zone["id"], id), zone)

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        change = self.diff(old, new)
        if change.replaces:
            raise ProviderError(
                f"cannot change {', '.join(change.replaces)} of a Cloudflare record in place",
                hint="the engine replaces the record (delete + create) for these fields",
            )
        with _api(ctx) as api:
            zone = api.zone(new["zone"])
            body = patch_body(new, change.changed)
            record = api.call(
                "PATCH",
                f"/zones/{zone['id']}/dns_records/{id}",
                body=body,
                what="update DNS record",
            )
            return outputs(record["result"], zone)

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        with _api(ctx) as api:
            zone = api.zone(_zone_name(attrs))
            try:
                api.call(
                    "DELETE", f"/zones/{zone['id']}/dns_records/{id}", what="delete DNS record"
                )
            except NotFound:
                return  # already gone: the wanted end state

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        with _api(ctx) as api:
            return self._find(api, api.zone(attrs["zone"]), key, attrs)

    def list(self, ctx: ProviderContext) -> Iterable[Observed]:
        """Every record carrying a ``penguinctl:`` comment, one paginated listing per zone.

        Zones covered: ``settings["zones"]`` plus those this context has looked up; when
        the context knows none, every zone the token can read.
        """
        with _api(ctx) as api:
            zones = api.known_zones(ctx.settings.get("zones") or ())
            found: list[Observed] = []
            for zone in zones:
                if zone["status"] != "active":
                    continue
                for record in api.records(zone["id"], {"comment.startswith": MARKER}):
                    if is_ours(record):
                        found.append(observed(record, zone))
            return found

    def adopt(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed:
        return adopt(ctx, key, attrs)

    def import_(self, ctx: ProviderContext, key: str, id: str) -> Observed:
        # The key names the zone: dns_record/<zone>/<TYPE>/<name>[/<tag>].
        return self.read(ctx, id, {"zone": key.split("/")[1]})

    # -- internals -------------------------------------------------------------------------

    def _find(
        self, api: CloudflareClient, zone: Mapping[str, Any], key: str, attrs: Mapping[str, Any]
    ) -> Observed | None:
        rtype = str(attrs["type"]).upper()
        query = {"type": rtype, "name.exact": canonical(rtype, "name", attrs["name"])}
        tag = marker(key)
        mine = [r for r in api.records(zone["id"], query) if r.get("comment") == tag]
        if len(mine) > 1:
            api.log(f"{len(mine)} Cloudflare records carry the marker of {key}; using the oldest")
        return observed(mine[0], zone) if mine else None

    def _converge(
        self,
        api: CloudflareClient,
        zone: Mapping[str, Any],
        record: Mapping[str, Any],
        attrs: Mapping[str, Any],
    ) -> Created:
        """Ours already exists (a retried create): make it match ``attrs`` and return it."""
        live = observed(record, zone)
        change = self.diff(live.attrs, attrs)
        if change.has_changes:
            body = patch_body(attrs, change.changed)
            path = f"/zones/{zone['id']}/dns_records/{record['id']}"
            record = api.call("PATCH", path, body=body, what="update DNS record")["result"]
        return Created(record["id"], outputs(record, zone))

    def _post(
        self, api: CloudflareClient, zone: Mapping[str, Any], key: str, attrs: Mapping[str, Any]
    ) -> Created:
        path = f"/zones/{zone['id']}/dns_records"
        body = request_body(attrs, marker(key))
        for attempt in range(POST_ATTEMPTS):
            try:
                reply = api.call("POST", path, body=body, retry=False, what="create DNS record")
                return Created(reply["result"]["id"], outputs(reply["result"], zone))
            except RateLimited as exc:
                if attempt + 1 == POST_ATTEMPTS:
                    raise
                api.wait(exc.retry_after, attempt)  # a 429 did nothing: safe to re-send
            except ProviderError as exc:
                if exc.vendor_code in DUPLICATE_CODES:
                    return self._identical(api, zone, key, attrs)
                if not exc.retryable:
                    raise
                # The record may exist although the reply was lost: read before re-sending.
                found = self._find(api, zone, key, attrs)
                if found is not None:
                    return Created(found.id, found.outputs)
                if attempt + 1 == POST_ATTEMPTS:
                    raise
                api.wait(None, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _identical(
        self, api: CloudflareClient, zone: Mapping[str, Any], key: str, attrs: Mapping[str, Any]
    ) -> Created:
        """81057/81058: the record exists. Ours (a lost reply, a racing worker) is success."""
        found = self._find(api, zone, key, attrs)
        if found is not None:
            return Created(found.id, found.outputs)
        rtype = str(attrs["type"]).upper()
        query = {"type": rtype, "name.exact": canonical(rtype, "name", attrs["name"])}
        for record in api.records(zone["id"], query):
            if not is_ours(record) and in_the_way(attrs, record):
                raise conflict(record, key)
        raise ProviderError(
            f"Cloudflare says {rtype} {attrs['name']} already exists but it cannot be read back",
            hint="check the zone in the Cloudflare dashboard; the token may lack read access",
        )


def _zone_name(attrs: Mapping[str, Any]) -> str:
    zone = attrs.get("zone")
    if not zone:
        raise ProviderError(
            "a Cloudflare record cannot be read without its zone",
            hint="pass the recorded attributes (zone) or import by key dns_record/<zone>/…",
        )
    return str(zone)


def adopt(ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed:
    """Take over the foreign record in the way of ``key`` by writing our marker on it.

    The content is left as it is (the engine's next diff updates it). Raises
    :class:`NotFound` when nothing is in the way and :class:`Conflict` when several
    foreign records are (they must be merged by a person first).
    """
    with _api(ctx) as api:
        zone = api.zone(attrs["zone"])
        rtype = str(attrs["type"]).upper()
        here = api.records(zone["id"], {"name.exact": canonical(rtype, "name", attrs["name"])})
        foreign = [r for r in here if not is_ours(r) and in_the_way(attrs, r)]
        if not foreign:
            raise NotFound(f"no foreign {rtype} record at {attrs['name']} to adopt")
        if len(foreign) > 1 or foreign[0]["type"] != rtype:
            raise Conflict(
                f"{len(foreign)} foreign records at {attrs['name']} are in the way of {key}",
                hint="remove all but one in Cloudflare (or the clashing CNAME), then adopt",
            )
        path = f"/zones/{zone['id']}/dns_records/{foreign[0]['id']}"
        api.log(f"adopting Cloudflare {rtype} {attrs['name']} ({foreign[0]['id']}) as {key}")
        reply = api.call("PATCH", path, body={"comment": marker(key)}, what="adopt DNS record")
        return observed(reply["result"], zone)


@dataclass(frozen=True)
class BatchResult:
    """What one batch did: ids deleted, records patched (by id) and created (by key)."""

    deleted: tuple[str, ...] = ()
    patched: Mapping[str, Observed] = field(default_factory=dict)
    created: Mapping[str, Created] = field(default_factory=dict)


def apply_batch(
    ctx: ProviderContext,
    zone: str,
    deletes: Sequence[str] = (),
    patches: Sequence[tuple[str, Mapping[str, Any]]] = (),
    posts: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> BatchResult:
    """Apply many changes to one zone in one transaction (``POST …/dns_records/batch``).

    ``deletes`` are record ids, ``patches`` ``(id, desired attrs)`` and ``posts``
    ``(key, desired attrs)``; Cloudflare runs deletes → patches → posts, all or nothing.
    A batch with posts is sent once (its reply may be lost after it was applied: the
    caller settles each post with ``find``); one without posts is retried.
    """
    with _api(ctx) as api:
        zone_obj = api.zone(zone)
        path = f"/zones/{zone_obj['id']}/dns_records/batch"
        pending = list(deletes)
        for attempt in range(POST_ATTEMPTS):
            body = {
                "deletes": [{"id": i} for i in pending],
                "patches": [{"id": i, **request_body(a)} for i, a in patches],
                "posts": [request_body(a, marker(k)) for k, a in posts],
            }
            try:
                reply = api.call("POST", path, body=body, retry=not posts, what="DNS batch")
                break
            except RateLimited as exc:  # refused before anything was done: send again
                if attempt + 1 == POST_ATTEMPTS:
                    raise
                api.wait(exc.retry_after, attempt)
            except NotFound:
                # A delete of a record already gone fails the whole transaction: drop
                # those (their end state is reached) and send the rest once more.
                live = {r["id"] for r in api.records(zone_obj["id"], {})}
                still = [i for i in pending if i in live]
                if still == pending or attempt + 1 == POST_ATTEMPTS:
                    raise
                pending = still
            except ProviderError as exc:
                if posts and exc.retryable:
                    raise ProviderError(
                        f"the DNS batch for {zone} may or may not have been applied: {exc.message}",
                        hint="re-plan: each created record is found again by its comment",
                        retryable=False,
                    ) from None
                raise
        result = reply["result"] or {}
        return BatchResult(
            deleted=tuple(r["id"] for r in result.get("deletes") or ()),
            patched={r["id"]: observed(r, zone_obj) for r in result.get("patches") or ()},
            created={
                k: Created(r["id"], outputs(r, zone_obj))
                for (k, _), r in zip(posts, result.get("posts") or (), strict=True)
            },
        )
