"""Hostwinds servers (VPSes): :class:`HostwindsServerProvider` and its one private API client.

Hostwinds has one endpoint, ``POST {base}/cloud/api.php``, with a form-encoded body that
names the ``action`` and carries the ``API`` key; it answers HTTP 200 for errors too, and
``add_instance`` (a purchase) returns no id. Hence the rules here:

* every server gets a deterministic ``srvrname`` (:func:`server_name`): the idempotency key.
  ``create`` and ``find`` look it up with ``get_instances`` *before* buying, so a retry after
  a timeout or a crash never buys a second VPS;
* ``add_instance`` is sent once (``retry=False``); when its reply is lost the provider
  settles by listing until the name appears, and never re-sends it blindly;
* the API key and every instance's root ``password`` are kept out of logs, errors, outputs
  and observed attributes (the client strips ``password`` from every reply).

Extra IPs: no public source documents an action that buys one (apis.md §1.4), so a spec
asking for more ``extra_ips`` than the server has is refused before anything is bought or
changed (buy them in the portal; a refresh reads them with ``get_instance_ips``).

Action names no public source confirms (❓ in apis.md §1.4: listing locations and images)
live in :data:`UNCONFIRMED_ACTIONS`, overridable per provider instance with
``settings: {actions: {locations: NAME, images: NAME}}``.

Settings: ``poll_interval`` (s, default 10), ``ready_timeout`` (900), ``settle_timeout``
(120: how long to wait for a bought server to be listed), ``timeout`` (30, per request),
``purchase_timeout`` (120, for ``add_instance``), ``billingcycle`` (``monthly``).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from penguinctl.core.errors import Conflict, NotFound, PenguinError, ProviderError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext
from penguinctl.core.resource import name_of

if TYPE_CHECKING:
    from penguinctl.providers._hostwinds_api import HostwindsClient

__all__ = ["UNCONFIRMED_ACTIONS", "HostwindsServerProvider", "import_server", "server_name"]  # noqa: F822

_MAX_SLUG = 40  # srvrname stays short enough for the portal's listing
# Price lists per (endpoint, instance) for plan costs: (read at, rows). Never a secret.
_PRICES: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = {}
_PRICE_LOCK = threading.Lock()
_PRICE_TTL = 300.0


def server_name(tenant: str, name: str) -> str:
    """The deterministic ``srvrname`` of server ``name`` of ``tenant``: ``pc-<tenant>-<name>-<h>``.

    The short hash of (tenant, name) is always appended: without it tenant ``a-b`` server
    ``c`` and tenant ``a`` server ``b-c`` would share a name, and one would adopt the other's
    VPS. Long names are truncated; the hash keeps them apart.
    """
    digest = hashlib.sha256(f"{tenant}\0{name}".encode()).hexdigest()[:6]
    slug = re.sub(r"[^a-z0-9]+", "-", f"{tenant}-{name}".lower()).strip("-")
    return f"pc-{slug[:_MAX_SLUG].rstrip('-')}-{digest}"


def _setting(ctx: ProviderContext, name: str, default: float) -> float:
    return float(ctx.settings.get(name, default))


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on", "locked"}


def _ready(instance: Mapping[str, Any]) -> bool:
    # ❓ apis.md §1.3: no source documents the states; active + no task + an IP is the
    # conservative reading of the OpenStack-style fields.
    return (
        instance.get("vm_state") == "active"
        and not instance.get("task_state")
        and bool(instance.get("main_ip"))
    )


class HostwindsServerProvider(Provider):
    """``server`` resources on Hostwinds: one VPS each, found by its deterministic srvrname.

    Attributes: ``name``, ``tenant``, ``location``, ``plan``, ``image`` (names or ids),
    ``ssh_keys`` (key names, used at create only), ``mail_host`` (the HELO name; its PTR is
    the separate ``ptr/NAME`` resource),
    ``extra_ips``, ``tags`` (not stored by Hostwinds). Outputs: ``service_id``, ``ipv4``,
    ``ipv6``, ``ips``, ``mail_host``, ``monthly_cost``.
    """

    type = "hostwinds"
    kind = "server"
    replace_fields = frozenset({"location", "plan", "image"})
    # SSH keys are installed at creation only (changing them needs a rebuild), and
    # Hostwinds has nowhere to store tags: neither is compared with live state.
    ignore_fields = frozenset({"ssh_keys", "tags"})
    protected = True

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = [
            f"{f} is required" for f in ("name", "location", "plan", "image") if not attrs.get(f)
        ]
        extra = attrs.get("extra_ips", 0)
        if not isinstance(extra, int) or isinstance(extra, bool) or extra < 0:
            problems.append("extra_ips must be a whole number >= 0")
        return problems

    def normalize(self, field_name: str, value: Any) -> Any:
        if field_name in self.replace_fields and value is not None:
            # "Ubuntu 24.04" (the portal's name) and "ubuntu-24.04" (a spec's slug) are one image.
            return re.sub(r"[^a-z0-9]+", "-", str(value).strip().casefold()).strip("-")
        if field_name == "extra_ips":
            return int(value or 0)
        return value

    # -- CRUD -------------------------------------------------------------------------

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        srvrname = server_name(self._tenant(ctx, attrs), attrs.get("name") or name_of(key))
        with _client(ctx) as api:
            instance = self._one(api, srvrname)
            if instance is not None:
                ctx.log(f"Hostwinds: {srvrname} already exists (service {instance['serviceid']})")
            else:
                self._buy(ctx, api, srvrname, attrs)
                instance = self._settle(ctx, api, srvrname)
            instance = self._wait_ready(ctx, api, instance)
            # Reverse DNS is the ``ptr/NAME`` resource (providers/hostwinds_ptr.py): it is
            # set after the forward A record exists, not here.
            observed = self._observe(ctx, api, instance, attrs)
        return Created(observed.id, observed.outputs)

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        with _client(ctx) as api:
            return self._observe(ctx, api, api.instance(id), attrs)

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        """The server named :func:`server_name` of ``key``, once it is ready.

        A server still building is reported as None: the engine then plans a create, and
        :meth:`create` adopts it by name (nothing is bought) and waits for it, instead of
        the engine recording a server without an address.
        """
        srvrname = server_name(self._tenant(ctx, attrs), attrs.get("name") or name_of(key))
        with _client(ctx) as api:
            instance = self._one(api, srvrname)
            if instance is None or not _ready(instance):
                return None
            return self._observe(ctx, api, instance, attrs)

    def import_(self, ctx: ProviderContext, key: str, id: str) -> Observed:
        # The key names the server; the live srvrname is recorded as is, so the next
        # plan shows the rename to penguinctl's deterministic name as an update.
        return self.read(ctx, id, {"tenant": ctx.tenant} if ctx.tenant else {})

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        moved = sorted(self.diff(old, new).replaces)
        if moved:
            raise ProviderError(
                f"changing {', '.join(moved)} of a Hostwinds server needs a new server",
                hint="plan again with --allow-replace to replace it",
            )
        with _client(ctx) as api:
            instance = api.instance(id)
            live_extra = len(api.ipv4s(id)) - 1
            if int(new.get("extra_ips") or 0) > live_extra:
                raise _no_extra_ips(live_extra)  # before changing anything
            srvrname = server_name(self._tenant(ctx, new), str(new.get("name") or old.get("name")))
            if instance.get("srvrname") != srvrname:
                ctx.log(f"Hostwinds: renaming service {id} to {srvrname}")
                api.call("edit_instance", serviceid=id, srvrname=srvrname)
            return self._observe(ctx, api, api.instance(id), new).outputs

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        with _client(ctx) as api:
            try:
                instance = api.instance(id)
            except NotFound:
                ctx.log(f"Hostwinds: service {id} is already gone")
                return
            # toggle_lock *toggles*: read the lock state first, never toggle blindly.
            if _truthy(instance.get("locked")):
                ctx.log(f"Hostwinds: unlocking service {id} before terminating it")
                api.call("toggle_lock", serviceid=id)
                if _truthy(api.instance(id).get("locked")):
                    raise ProviderError(
                        f"Hostwinds service {id} is still locked after toggle_lock",
                        hint="unlock it in the Hostwinds portal, then run the delete again",
                    )
            ctx.log(f"Hostwinds: terminating {instance.get('srvrname')} (service {id})")
            try:
                api.call("terminate", serviceid=id)
            except ProviderError:
                # A retried terminate whose first attempt worked finds nothing to delete.
                if api.exists(id):
                    raise

    # -- costs ------------------------------------------------------------------------

    def plan_cost(self, ctx: ProviderContext, attrs: Mapping[str, Any]) -> float:
        """Monthly price of ``attrs["plan"]`` from ``get_price_list`` (shown in plans)."""
        with _client(ctx) as api:
            return float(api.plan(str(attrs["plan"])).get("monthly") or 0)

    def cost(self, ctx: ProviderContext, attrs: Mapping[str, Any]) -> float | None:
        """The plan's monthly price. The price list is read once per endpoint and process
        (a plan buying 200 servers asks once) and kept :data:`_PRICE_TTL` seconds."""
        if not attrs.get("plan"):
            return None
        key = (ctx.endpoint("hostwinds"), ctx.instance)
        with _PRICE_LOCK:
            cached = _PRICES.get(key)
            if cached is None or time.monotonic() - cached[0] > _PRICE_TTL:
                with _client(ctx) as api:
                    cached = (time.monotonic(), api.table("plans"))
                _PRICES[key] = cached
        wanted = str(attrs["plan"]).strip().casefold()
        for row in cached[1]:
            if wanted in {str(row.get(f)).casefold() for f in ("name", "id", "rid")}:
                return float(row.get("monthly") or 0)
        valid = ", ".join(str(r.get("name")) for r in cached[1])
        raise ProviderError(f"unknown Hostwinds plan '{attrs['plan']}'", hint=f"valid: {valid}")

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _tenant(ctx: ProviderContext, attrs: Mapping[str, Any]) -> str:
        return str(attrs.get("tenant") or ctx.tenant)

    @staticmethod
    def _one(api: HostwindsClient, srvrname: str) -> dict[str, Any] | None:
        found = [i for i in api.instances() if i.get("srvrname") == srvrname]
        if len(found) > 1:
            ids = ", ".join(str(i.get("serviceid")) for i in found)
            raise Conflict(
                f"{len(found)} Hostwinds servers are named {srvrname} (services {ids})",
                hint="terminate the extra one in the Hostwinds portal (it is billed), or import "
                "the one to keep with `penguinctl state import`",
            )
        return found[0] if found else None

    def _buy(
        self, ctx: ProviderContext, api: HostwindsClient, srvrname: str, attrs: Mapping[str, Any]
    ) -> None:
        if int(attrs.get("extra_ips") or 0) > 0:
            raise _no_extra_ips(0)  # before paying for a server the spec cannot complete
        plan = api.plan(str(attrs["plan"]))
        location = api.location(str(attrs["location"]))
        image = api.image(str(attrs["image"]))
        ctx.log(f"Hostwinds: buying {plan['name']} in {location['name']} as {srvrname}")
        try:
            api.call(
                "add_instance",
                purchase=True,
                template=image["id"],
                rid=plan["rid"],
                location_id=location["id"],
                qty=1,
                keys=list(attrs.get("ssh_keys") or []),
                srvrname=srvrname,
                billingcycle=ctx.settings.get("billingcycle", "monthly"),
            )
        except ProviderError as exc:
            if not exc.retryable:
                raise  # Hostwinds said no: nothing was bought
            # The purchase may have happened: settle by listing, never re-send it.
            ctx.log(f"Hostwinds: add_instance reply lost ({exc.message}); looking for {srvrname}")

    def _settle(self, ctx: ProviderContext, api: HostwindsClient, srvrname: str) -> dict[str, Any]:
        timeout = _setting(ctx, "settle_timeout", 120)
        deadline = time.monotonic() + timeout
        while True:
            instance = self._one(api, srvrname)
            if instance is not None:
                return instance
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"Hostwinds does not list {srvrname} {timeout:.0f}s after add_instance",
                    hint="it may still appear and be billed: check the Hostwinds portal before "
                    "running apply again (a re-run finds it by name if it is listed by then)",
                )
            time.sleep(_setting(ctx, "poll_interval", 10))

    def _wait_ready(
        self, ctx: ProviderContext, api: HostwindsClient, instance: dict[str, Any]
    ) -> dict[str, Any]:
        sid = str(instance["serviceid"])
        timeout = _setting(ctx, "ready_timeout", 900)
        start = time.monotonic()
        last = ""
        while not _ready(instance):
            state = f"{instance.get('vm_state')}/{instance.get('task_state') or '-'}"
            waited = time.monotonic() - start
            if instance.get("vm_state") == "error":
                raise ProviderError(
                    f"Hostwinds server {instance.get('srvrname')} (service {sid}) failed to build",
                    hint="open a ticket with Hostwinds support; then delete it with --force",
                )
            if waited >= timeout:
                raise ProviderError(
                    f"Hostwinds server {instance.get('srvrname')} (service {sid}) is not ready "
                    f"after {timeout:.0f}s ({state})",
                    hint="it exists and is billed; run apply again later (it is found by name, "
                    "nothing is bought twice) or raise the ready_timeout setting",
                )
            if state != last:
                ctx.log(f"Hostwinds: {instance.get('srvrname')} is {state} ({waited:.0f}s)")
                last = state
            time.sleep(_setting(ctx, "poll_interval", 10))
            instance = api.instance(sid)
        return instance

    def _observe(
        self,
        ctx: ProviderContext,
        api: HostwindsClient,
        instance: Mapping[str, Any],
        attrs: Mapping[str, Any],
    ) -> Observed:
        sid = str(instance["serviceid"])
        tenant = self._tenant(ctx, attrs)
        main_ip = instance.get("main_ip") or None
        ips = api.ipv4s(sid) if main_ip else []
        if main_ip in ips:  # the main IP first, then the extra ones in vendor order
            ips = [main_ip, *(ip for ip in ips if ip != main_ip)]
        plan = api.live_plan(instance)
        name = attrs.get("name")
        if name is None or instance.get("srvrname") != server_name(tenant, str(name)):
            name = instance.get("srvrname")  # drift (renamed in the portal) or an import
        live = {
            "name": name,
            "tenant": tenant,
            "location": api.live_location(instance, attrs.get("location")),
            "plan": attrs.get("plan")
            if _same(api.plan, attrs.get("plan"), plan)
            else plan.get("name"),
            "image": api.live_image(instance, attrs.get("image")),
            "ssh_keys": attrs.get("ssh_keys", instance.get("ssh_keys") or []),
            "mail_host": attrs.get("mail_host"),  # the API has no documented rDNS read
            "extra_ips": max(0, len(ips) - 1),
            "tags": attrs.get("tags", []),
        }
        outputs = {
            "service_id": sid,
            "ipv4": main_ip,
            "ipv6": instance.get("ip_v6") or None,
            "ips": ips,
            "mail_host": attrs.get("mail_host"),
            "monthly_cost": float(plan.get("monthly") or 0),
        }
        return Observed(sid, live, outputs)


def _same(resolve: Any, wanted: Any, live: Mapping[str, Any]) -> bool:
    if wanted is None:
        return False
    try:
        return str(resolve(str(wanted)).get("id")) == str(live.get("id"))
    except PenguinError:
        return False


def _no_extra_ips(live: int) -> ProviderError:
    return ProviderError(
        f"the server has {live} extra IP(s) and Hostwinds has no documented API action to buy more",
        hint="buy the extra IPs in the Hostwinds portal (the next refresh reads them), or lower "
        "extra_ips in the spec",
    )


@contextmanager
def _client(ctx: ProviderContext) -> Iterator[HostwindsClient]:
    # Imported on first API call: planning needs none of httpx (see providers/cloudflare.py).
    from penguinctl.providers._hostwinds_api import HostwindsClient

    client = HostwindsClient(ctx)
    try:
        yield client
    finally:
        client.close()


def import_server(ctx: ProviderContext, service_id: str) -> Observed:
    """Adopt Hostwinds service ``service_id`` without changing it.

    Backs ``penguinctl state import server/NAME SERVICEID``; the observed attributes carry
    the live names (srvrname, location, plan, image) for the engine to record.
    """
    return HostwindsServerProvider().read(ctx, str(service_id), {})


def __getattr__(name: str) -> Any:
    # UNCONFIRMED_ACTIONS lives with the API client, imported lazily (see _client).
    if name == "UNCONFIRMED_ACTIONS":
        from penguinctl.providers._hostwinds_api import UNCONFIRMED_ACTIONS

        return UNCONFIRMED_ACTIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
