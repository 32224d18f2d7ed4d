"""PowerDNS DNS records (``dns_record`` resources of provider type ``powerdns``), for self-hosters.

It speaks the PowerDNS Authoritative HTTP API (``/api/v1``) with httpx. Instance settings:
``endpoint`` (the API base, ``http://host:8081/api/v1``), ``server_id`` (default
``localhost``), ``timeout``, ``zones`` (what :meth:`list` covers; default every zone);
credential ``apiKey`` (the ``X-API-Key``).

**RRsets, merged.** PowerDNS writes whole RRsets (``PATCH … changetype REPLACE``). Every
write here is read-modify-write of one RRset under a per-RRset lock: the values other
people put there (a site-verification TXT at the apex) are sent back unchanged, never
dropped; only our value is added, changed or removed.

**Ownership.** PowerDNS keeps comments per RRset, so each value penguinctl owns has
its own comment ``penguinctl:<key> sha=<hash of the value>`` (see
:mod:`penguinctl.providers._powerdns_records`). A foreign value in the way of ours (an
SPF that is not ours at the apex, another MX, a CNAME at the name) raises
:class:`Conflict`; :func:`adopt` takes it over explicitly by adding our comment.

**Idempotence.** A REPLACE of the same RRset is idempotent, so the client retries it;
``create`` finds its own value by its comment first (a retried create converges).

Attributes are those of the Cloudflare provider (``zone``, ``name``, ``type``,
``content`` — TXT unsplit and unquoted, MX target host —, ``ttl`` — 1 means 300 s —,
``priority``, ``proxied`` — always False). The vendor id is
``<zone.>|<name.>|<TYPE>|<key>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from penguinctl.core.errors import Conflict, NotFound, ProviderError
from penguinctl.core.provider import Created, DiffResult, Observed, Provider, ProviderContext
from penguinctl.providers import _powerdns_records as rec
from penguinctl.providers._dns_record_checks import record_problems
from penguinctl.providers._powerdns_client import PowerDNSClient, rrset_lock


class PowerDNSRecordProvider(Provider):
    """DNS records on a PowerDNS server, owned through per-value RRset comments."""

    type = "powerdns"
    kind = "dns_record"
    replace_fields = frozenset({"zone", "name", "type"})
    supports_list = True

    # -- pure ------------------------------------------------------------------------------

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = record_problems(
            attrs, canonical=rec.canonical, types=rec.TYPES, vendor="PowerDNS"
        )
        ttl = attrs.get("ttl", 1)
        if not isinstance(ttl, int) or not 1 <= ttl <= 2**31 - 1:
            problems.append("ttl must be a positive number of seconds (1 = 300 s)")
        if attrs.get("proxied"):
            problems.append("PowerDNS cannot proxy records (proxied must be false)")
        return problems

    def normalize(self, field_name: str, value: Any) -> Any:
        if field_name == "ttl" and value is not None:
            return rec.AUTO_TTL if int(value) == 1 else int(value)
        return rec.canonical("", field_name, value)

    def diff(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> DiffResult:
        rtype = str(new.get("type") or old.get("type") or "").upper()

        def canon(k: str, v: Any) -> Any:
            return self.normalize(k, v) if k == "ttl" else rec.canonical(rtype, k, v)

        keys = sorted((set(old) | set(new)) - self.ignore_fields)
        changed = tuple(k for k in keys if canon(k, old.get(k)) != canon(k, new.get(k)))
        return DiffResult(changed, tuple(k for k in changed if k in self.replace_fields))

    # -- CRUD ------------------------------------------------------------------------------

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        zone, name, rtype = _where(attrs)
        with PowerDNSClient(ctx) as api, rrset_lock(api.url, zone, name, rtype):
            here = api.rrsets(zone, name)
            rrset = _pick(here, rtype)
            if _ours(rrset, zone, name, rtype, key) is None:  # not (or no longer) there
                blocking = [
                    f
                    for r in here
                    for f in _foreign(r)
                    if rec.in_the_way(attrs, rec.foreign_record(name, r["type"], f))
                ]
                if blocking:
                    raise _conflict(blocking[0], _type_of(here, blocking[0]), name, key)
            self._write(api, zone, name, rtype, rrset, key, attrs)
        return Created(rec.record_id(zone, name, rtype, key), _outputs(zone, name, rtype))

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        zone, name, rtype, key = rec.split_id(id)
        with PowerDNSClient(ctx) as api:
            found = _ours(_pick(api.rrsets(zone, name, rtype), rtype), zone, name, rtype, key)
        if found is None:
            raise NotFound(f"PowerDNS {rtype} {name} of {key} is gone")
        return found

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        change = self.diff(old, new)
        if change.replaces:
            raise ProviderError(
                f"cannot change {', '.join(change.replaces)} of a PowerDNS record in place",
                hint="the engine replaces the record (delete + create) for these fields",
            )
        zone, name, rtype, key = rec.split_id(id)
        with PowerDNSClient(ctx) as api, rrset_lock(api.url, zone, name, rtype):
            rrset = _pick(api.rrsets(zone, name, rtype), rtype)
            if _ours(rrset, zone, name, rtype, key) is None:
                raise NotFound(f"PowerDNS {rtype} {name} of {key} is gone")
            self._write(api, zone, name, rtype, rrset, key, new)
        return _outputs(zone, name, rtype)

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        zone, name, rtype, key = rec.split_id(id)
        with PowerDNSClient(ctx) as api, rrset_lock(api.url, zone, name, rtype):
            rrset = _pick(api.rrsets(zone, name, rtype), rtype)
            if rrset is None or key not in _owned(rrset):
                return  # already gone: the wanted end state
            self._write(api, zone, name, rtype, rrset, key, None)

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        zone, name, rtype = _where(attrs)
        with PowerDNSClient(ctx) as api:
            return _ours(_pick(api.rrsets(zone, name, rtype), rtype), zone, name, rtype, key)

    def list(self, ctx: ProviderContext) -> Iterable[Observed]:
        """Every value carrying a penguinctl comment, one zone read per zone."""
        with PowerDNSClient(ctx) as api:
            zones = list(ctx.settings.get("zones") or api.zones())
            found: list[Observed] = []
            for zone in zones:
                zname = rec.fqdn(zone)
                for rrset in api.rrsets(zname):
                    for key in _owned(rrset):
                        seen = _ours(rrset, zname, rrset["name"], rrset["type"], key)
                        if seen is not None:
                            found.append(seen)
            return found

    def adopt(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed:
        return adopt(ctx, key, attrs)

    def import_(self, ctx: ProviderContext, key: str, id: str) -> Observed:
        return self.read(ctx, id, {})

    # -- internals -------------------------------------------------------------------------

    def _write(
        self,
        api: PowerDNSClient,
        zone: str,
        name: str,
        rtype: str,
        rrset: Mapping[str, Any] | None,
        key: str,
        attrs: Mapping[str, Any] | None,
    ) -> None:
        """Put our value for ``key`` (None: remove it) into the RRset, keeping the rest."""
        old_hash = _owned(rrset).get(key)
        records = [dict(r) for r in (rrset or {}).get("records", ())]
        comments = [dict(c) for c in (rrset or {}).get("comments", ())]
        comments = [c for c in comments if (rec.parse_comment(c) or ("", ""))[0] != key]
        still_claimed = {h for k, h in _owned_from(comments).items()}
        if old_hash is not None and old_hash not in still_claimed:
            records = [r for r in records if rec.parse(rtype, r["content"]).hash != old_hash]
        ttl = int((rrset or {}).get("ttl") or rec.AUTO_TTL)
        if attrs is not None:
            value = rec.wanted(attrs)
            if all(rec.parse(rtype, r["content"]).hash != value.hash for r in records):
                records.append({"content": rec.render(attrs), "disabled": False})
            comments.append(rec.comment_for(key, value))
            ttl = rec.ttl_of(attrs)  # one TTL per RRset: ours wins, noted in the docs
        if not records:
            gone = {"name": name, "type": rtype, "changetype": "DELETE"}
            api.patch(zone, [gone], what=f"delete {rtype} {name}")
            return
        change: dict[str, Any] = {
            "name": name,
            "type": rtype,
            "ttl": ttl,
            "changetype": "REPLACE",
            "records": records,
            "comments": comments,
        }
        api.patch(zone, [change], what=f"write {rtype} {name}")


def _where(attrs: Mapping[str, Any]) -> tuple[str, str, str]:
    zone = attrs.get("zone")
    if not zone:
        raise ProviderError("a PowerDNS record needs its zone", hint="pass attrs with zone")
    return rec.fqdn(str(zone)), rec.fqdn(str(attrs["name"])), str(attrs["type"]).upper()


def _pick(rrsets: Iterable[Mapping[str, Any]], rtype: str) -> Mapping[str, Any] | None:
    return next((r for r in rrsets if r["type"] == rtype), None)


def _owned_from(comments: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    out = {}
    for c in comments:
        parsed = rec.parse_comment(c)
        if parsed:
            out[parsed[0]] = parsed[1]
    return out


def _owned(rrset: Mapping[str, Any] | None) -> dict[str, str]:
    """``{key: value hash}`` of the penguinctl comments of ``rrset``."""
    return _owned_from((rrset or {}).get("comments", ()))


def _foreign(rrset: Mapping[str, Any]) -> list[rec.Value]:
    claimed = set(_owned(rrset).values())
    values = [rec.parse(rrset["type"], r["content"]) for r in rrset.get("records", ())]
    return [v for v in values if v.hash not in claimed]


def _type_of(rrsets: Iterable[Mapping[str, Any]], value: rec.Value) -> str:
    for r in rrsets:
        if value in _foreign(r):
            return str(r["type"])
    return "?"


def _ours(
    rrset: Mapping[str, Any] | None, zone: str, name: str, rtype: str, key: str
) -> Observed | None:
    wanted_hash = _owned(rrset).get(key)
    if rrset is None or wanted_hash is None:
        return None
    for r in rrset.get("records", ()):
        value = rec.parse(rtype, r["content"])
        if value.hash == wanted_hash:
            attrs = rec.observed_attrs(zone, name, rtype, int(rrset["ttl"]), value)
            return Observed(
                rec.record_id(zone, name, rtype, key), attrs, _outputs(zone, name, rtype)
            )
    return None  # the comment survives but someone changed the value: ours is gone


def _outputs(zone: str, name: str, rtype: str) -> dict[str, Any]:
    return {"fqdn": name.rstrip("."), "zone_id": zone, "rrset": f"{name} {rtype}"}


def _conflict(value: rec.Value, rtype: str, name: str, key: str) -> Conflict:
    shown = value.content if len(value.content) <= 60 else value.content[:57] + "..."
    return Conflict(
        f"a {rtype} record {name.rstrip('.')} ({shown!r}) that penguinctl did not create "
        f"is in the way of {key}",
        hint="delete it on the PowerDNS server, or take it over with --adopt "
        "(penguinctl then manages it)",
    )


def adopt(ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed:
    """Take over the foreign value in the way of ``key`` by adding our comment for it.

    The value is left as it is (the engine's next diff updates it). Raises
    :class:`NotFound` when nothing is in the way and :class:`Conflict` when several
    foreign values are (a person must merge them first).
    """
    zone, name, rtype = _where(attrs)
    with PowerDNSClient(ctx) as api, rrset_lock(api.url, zone, name, rtype):
        here = api.rrsets(zone, name)
        blocking = [
            (r, f)
            for r in here
            for f in _foreign(r)
            if rec.in_the_way(attrs, rec.foreign_record(name, r["type"], f))
        ]
        if not blocking:
            raise NotFound(f"no foreign {rtype} record at {name.rstrip('.')} to adopt")
        if len(blocking) > 1 or blocking[0][0]["type"] != rtype:
            raise Conflict(
                f"{len(blocking)} foreign records at {name.rstrip('.')} are in the way of {key}",
                hint="remove all but one on the PowerDNS server (or the clashing CNAME), "
                "then adopt",
            )
        rrset, value = blocking[0]
        comments = [dict(c) for c in rrset.get("comments", ())]
        comments.append(rec.comment_for(key, value))
        api.log(f"adopting PowerDNS {rtype} {name} as {key}")
        change = {
            "name": name,
            "type": rtype,
            "ttl": rrset["ttl"],
            "changetype": "REPLACE",
            "records": rrset["records"],
            "comments": comments,
        }
        api.patch(zone, [change], what=f"adopt {rtype} {name}")
        attrs_seen = rec.observed_attrs(zone, name, rtype, int(rrset["ttl"]), value)
        return Observed(
            rec.record_id(zone, name, rtype, key), attrs_seen, _outputs(zone, name, rtype)
        )
