"""The one private client of the Hostwinds Cloud API; only ``providers/hostwinds.py`` uses it.

It is the only code that knows Hostwinds' wire format (apis.md §1.2 and §1.3): a form-encoded
``POST {base}/cloud/api.php`` with ``action=`` and ``API=`` fields, HTTP 200 for errors,
replies that are ``{"success": …}`` for reads and lists of step objects for actions. It
retries transient failures of every call but purchases (:func:`penguinctl.core.http.request`),
maps vendor errors to typed errors with hints, strips the root ``password`` from every
instance object, and caches the price list and the location and image tables per call.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

import httpx

from penguinctl.core.errors import AuthError, NotFound, PenguinError, ProviderError, redact
from penguinctl.core.http import form_body, request
from penguinctl.core.provider import ProviderContext

API_PATH = "/cloud/api.php"

# ❓ No public source names these actions (apis.md §1.4). One table, overridable with
# ``settings: {actions: {locations: NAME, images: NAME}}`` so a user can fix them without
# a code change. Numeric location ids and image UUIDs bypass them entirely.
UNCONFIRMED_ACTIONS: dict[str, str] = {"locations": "get_locations", "images": "get_images"}

_FIELDS = {  # which fields of a table row a user may name it by
    "plans": ("name", "id", "rid"),
    "locations": ("name", "id", "code"),
    "images": ("name", "id", "ref", "base_image_ref", "slug"),
}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_AUTH_HINT = (
    "the API key is wrong, or this machine's egress IPv4 address is not on the key's "
    "allow-list at https://clients.hostwinds.com/cloud/api_keys.php "
    "(`penguinctl doctor` prints that address)"
)


@cache
def _tls() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (~60 ms); one per process is enough.
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _scrub(value: Any) -> Any:
    """``value`` without any ``password`` field (the root password of every instance)."""
    if isinstance(value, Mapping):
        if isinstance(value.get("password"), str):
            redact.add(value["password"])  # belt and braces: never printable even by mistake
        return {k: _scrub(v) for k, v in value.items() if k != "password"}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _rows(data: Any) -> list[dict[str, Any]]:
    """The objects of a list reply, or of an object keyed by id (``get_price_list``)."""
    items = data.values() if isinstance(data, Mapping) else data if isinstance(data, list) else []
    return [dict(i) for i in items if isinstance(i, Mapping)]


class HostwindsClient:
    """One Hostwinds API session for one provider call; close it when done."""

    def __init__(self, ctx: ProviderContext) -> None:
        self._ctx = ctx
        self._url = ctx.endpoint("hostwinds") + API_PATH
        self._key = ctx.credential("apiKey")
        overrides = dict(ctx.settings.get("actions") or {})
        self.actions = {**UNCONFIRMED_ACTIONS, **{str(k): str(v) for k, v in overrides.items()}}
        self._timeout = float(ctx.settings.get("timeout", 30))
        self._purchase_timeout = float(ctx.settings.get("purchase_timeout", 120))
        # IPv4 only. Hostwinds allow-lists API keys by IPv4 address and answers
        # "Not Authorized!" to a request that leaves over IPv6; binding the source
        # address to 0.0.0.0 makes every connection IPv4 (httpx has no family option).
        transport = httpx.HTTPTransport(local_address="0.0.0.0", verify=_tls())
        self._http = httpx.Client(transport=transport, timeout=self._timeout)
        self._tables: dict[str, list[dict[str, Any]]] = {}

    def close(self) -> None:
        self._http.close()

    # -- the wire -----------------------------------------------------------------------

    def call(self, action: str, *, purchase: bool = False, **fields: Any) -> Any:
        """Send ``action``; return the ``success`` payload (or the list of steps).

        ``purchase=True`` sends once: a lost reply raises ``ProviderError(retryable=True)``,
        which means "it may have happened, settle by reading", never "send it again".
        """
        body = urlencode(form_body({"action": action, **fields, "API": self._key}))
        response = request(
            self._http,
            "POST",
            self._url,
            retry=not purchase,
            limiter=self._ctx.limiter,
            log=self._ctx.log,
            what=f"Hostwinds {action}",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
            timeout=self._purchase_timeout if purchase else self._timeout,
        )
        if response.status_code >= 500:
            raise ProviderError(
                f"Hostwinds {action}: HTTP {response.status_code}",
                hint="Hostwinds is failing; try again later",
                retryable=True,
            )
        try:
            reply = _scrub(response.json())
        except ValueError:
            raise ProviderError(
                f"Hostwinds {action}: HTTP {response.status_code} without a JSON reply",
                hint="check the endpoint (https://clients.hostwinds.com)",
            ) from None
        first = reply[0] if isinstance(reply, list) and reply else reply
        if isinstance(first, Mapping) and first.get("result") == "error":
            raise self._error(action, str(first.get("message") or "unknown error"))
        if isinstance(reply, Mapping) and "success" in reply:
            return reply["success"]
        return reply

    def _error(self, action: str, message: str) -> ProviderError:
        text = redact(message)[:300]
        low = text.casefold()
        where = f"Hostwinds {action}: {text}"
        if "authoriz" in low:
            return AuthError(f"Hostwinds refused the API key ({text})", hint=_AUTH_HINT)
        if "hourly" in low:
            hint = (
                "use monthly billing (settings: billingcycle: monthly); hourly billing must "
                "first be enabled on the account by Hostwinds support"
            )
            return ProviderError(where, hint=hint, vendor_code="hourly")
        if "location" in low or "capacity" in low or "stock" in low:
            hint = f"choose another location; valid locations: {self.choices('locations')}"
            return ProviderError(where, hint=hint, vendor_code="location")
        if "product" in low or "plan" in low:
            hint = f"this plan cannot be bought now; valid plans: {self.choices('plans')}"
            return ProviderError(where, hint=hint, vendor_code="plan")
        if action in self.actions.values():
            what = next(k for k, v in self.actions.items() if v == action)
            hint = (
                f"the action name {action!r} is unconfirmed; set settings.actions.{what} to the "
                "name documented at https://developers.hostwinds.com/cloud/"
            )
            return ProviderError(where, hint=hint, vendor_code="action")
        hint = "see https://developers.hostwinds.com/cloud/ for this action"
        return ProviderError(where, hint=hint, vendor_code="error")

    # -- instances ------------------------------------------------------------------------

    def instances(self) -> list[dict[str, Any]]:
        return _rows(self.call("get_instances"))

    def instance(self, sid: str) -> dict[str, Any]:
        """One instance; :class:`NotFound` when ``check_serviceid`` says it does not exist."""
        try:
            found = self.call("get_instance", serviceid=sid)
        except AuthError:
            raise
        except ProviderError as exc:
            if exc.retryable or self.exists(sid):
                raise
            raise NotFound(
                f"Hostwinds service {sid} does not exist",
                hint="it was terminated (or the id is wrong); a plan proposes to create it again",
            ) from None
        if not isinstance(found, Mapping) or "serviceid" not in found:
            raise ProviderError(f"Hostwinds get_instance {sid}: unexpected reply shape")
        return dict(found)

    def exists(self, sid: str) -> bool:
        try:
            return self.call("check_serviceid", serviceid=sid) is True
        except AuthError:
            raise
        except ProviderError as exc:
            if exc.retryable:
                raise
            return False

    def ipv4s(self, sid: str) -> list[str]:
        data = self.call("get_instance_ips", serviceid=sid)
        rows = _rows(data.get("IP Addresses") if isinstance(data, Mapping) else data)
        found = []
        for row in rows:
            try:
                if ipaddress.ip_address(str(row.get("ip"))).version == 4:
                    found.append(str(row["ip"]))
            except ValueError:
                continue
        return found

    # -- plans, locations, images -----------------------------------------------------

    def table(self, kind: str) -> list[dict[str, Any]]:
        if kind not in self._tables:
            action = "get_price_list" if kind == "plans" else self.actions[kind]
            self._tables[kind] = _rows(self.call(action))
        return self._tables[kind]

    def choices(self, kind: str) -> str:
        try:
            rows = self.table(kind)
        except PenguinError:
            return "(they could not be listed)"
        if kind == "plans":
            return ", ".join(f"{r.get('name')} (${r.get('monthly')}/month)" for r in rows)
        return ", ".join(f"{r.get('name')} (id {r.get('id')})" for r in rows)

    def pick(self, kind: str, wanted: str) -> dict[str, Any]:
        """The row of ``kind`` named ``wanted`` (by name, id or code, case-insensitively)."""
        key = wanted.strip().casefold()
        for row in self.table(kind):
            if any(key == str(row[f]).casefold() for f in _FIELDS[kind] if row.get(f) is not None):
                return row
        raise ProviderError(
            f"unknown Hostwinds {kind[:-1]} '{wanted}'", hint=f"valid {kind}: {self.choices(kind)}"
        )

    def plan(self, wanted: str) -> dict[str, Any]:
        return self.pick("plans", wanted)

    def location(self, wanted: str) -> dict[str, Any]:
        if wanted.strip().isdigit():  # an id needs no (unconfirmed) listing action
            return {"id": int(wanted), "name": f"location {wanted.strip()}"}
        return self.pick("locations", wanted)

    def image(self, wanted: str) -> dict[str, Any]:
        if _UUID.match(wanted.strip()):  # a template UUID needs no (unconfirmed) listing
            return {"id": wanted.strip(), "name": wanted.strip()}
        return self.pick("images", wanted)

    @staticmethod
    def _quiet(lookup: Any, wanted: Any) -> Any:
        """``lookup(wanted)``, or an empty row when it fails for any reason but the key:
        a retired location name must not make a refresh fail."""
        try:
            return lookup(str(wanted))
        except AuthError:
            raise
        except ProviderError:
            return {}

    def live_plan(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        pid, pname = str(instance.get("product_id")), instance.get("product_name")
        for row in self.table("plans"):
            if str(row.get("id")) == pid or (pname and row.get("name") == pname):
                return row
        return {"id": instance.get("product_id"), "name": pname or pid, "monthly": 0}

    def live_location(self, instance: Mapping[str, Any], wanted: Any) -> Any:
        """``wanted`` when it names the live location, else the live location's name."""
        live = str(instance.get("location_id"))
        if wanted is not None and str(wanted).strip() == live:
            return wanted
        if wanted is not None and str(self._quiet(self.location, wanted).get("id")) == live:
            return wanted
        rows = self._quiet(self.table, "locations") or []
        row = next((r for r in rows if str(r.get("id")) == live), None)
        return row["name"] if row else live

    def live_image(self, instance: Mapping[str, Any], wanted: Any) -> Any:
        """``wanted`` when it names the live image, else the live image's name."""
        raw = instance.get("image")
        image: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        names = [instance.get("template_uuid"), instance.get("image_ref"), image.get("name")]
        live = {str(n).casefold() for n in names if n}
        if wanted is not None and str(wanted).strip().casefold() in live:
            return wanted
        if wanted is not None and str(self._quiet(self.image, wanted).get("id")).casefold() in live:
            return wanted
        return image.get("name") or instance.get("template_uuid")
