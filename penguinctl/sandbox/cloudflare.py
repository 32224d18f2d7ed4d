"""Strict emulator of the Cloudflare API v4 (zones and DNS records) for tests and ``--sandbox``.

Served under ``/cloudflare/client/v4``; it answers only what apis.md §3 documents:

* the envelope ``{success, errors, messages, result, result_info}``;
* ``Authorization: Bearer <token>`` with the token in ``state["tokens"]`` (default
  ``["sandbox-token"]``), else HTTP 403 code 9109 "Invalid access token";
  ``GET /user/tokens/verify``;
* ``GET /zones?name=`` (+ ``status``, paging), ``GET /zones/{id}``. Zones live in
  ``state["zones"]`` (``id, name, status, name_servers``); seed them with
  :meth:`CloudflareEmulator.add_zone`. **Sandbox convenience:** when
  ``state["auto_zones"]`` is true (the default) a lookup by name of an unknown zone
  creates it ``active`` on the spot, as if the user had added it and delegated it;
* record CRUD (``GET/POST …/dns_records``, ``GET/PUT/PATCH/DELETE …/dns_records/{id}``)
  with 32-hex ids, ``created_on``/``modified_on``, comments, tags, the rules in
  :mod:`penguinctl.sandbox.cloudflare_records`, the dot-nested list filters, and paging
  (``per_page`` default 100, at most ``state["max_per_page"]``, the documented 5,000,000);
* ``POST …/dns_records/batch``: deletes → patches → puts → posts, all or nothing;
* the rate limit: ``state["rate_limit"]`` (default 1,200 requests per 300 s per token);
  going over blocks the token for ``block`` seconds (default 300) with HTTP 429 and
  ``retry-after``. The clock is injectable (``clock=``) so tests need not wait.

Anything else (export/import, record types that need ``data``, unknown parameters or
body fields) is answered 404 code 7000 or 400, and recorded in :attr:`unexpected`.

Faults (``self.faults``): ``fail_next``: int — the next *n* requests get HTTP 500 (no
effect); ``latency``: seconds slept before answering; ``drop_connection`` is honoured by
:mod:`penguinctl.sandbox.http` (the effect happens, the reply is lost).
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from penguinctl.sandbox import cloudflare_records as rules
from penguinctl.sandbox.base import DnsAnswer, Emulator, Request, Response
from penguinctl.sandbox.cloudflare_records import ApiError, Unexpected, strict

PREFIX = "/client/v4"
TOKEN_ID = "ed17574386854bf78a67040be0a770b0"  # what /user/tokens/verify reports
NAME_SERVERS = ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]
DEFAULTS: dict[str, Any] = {
    "tokens": ["sandbox-token"],
    "auto_zones": True,
    "zones": {},
    "records": {},
    "rate_limit": {"requests": 1200, "window": 300, "block": 300},
    "max_per_page": 5_000_000,
    "max_comment": 100,  # the Free plan's comment length 🟡
}
_ZONE = r"/zones/(?P<zone>[0-9a-f]{32})"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/user/tokens/verify"), "verify"),
    ("GET", re.compile(r"/zones"), "list_zones"),
    ("GET", re.compile(_ZONE), "get_zone"),
    ("GET", re.compile(_ZONE + r"/dns_records"), "list_records"),
    ("POST", re.compile(_ZONE + r"/dns_records"), "create_record"),
    ("POST", re.compile(_ZONE + r"/dns_records/batch"), "batch"),
    ("GET", re.compile(_ZONE + r"/dns_records/(?P<id>[0-9a-f]{32})"), "get_record"),
    ("PATCH", re.compile(_ZONE + r"/dns_records/(?P<id>[0-9a-f]{32})"), "patch_record"),
    ("PUT", re.compile(_ZONE + r"/dns_records/(?P<id>[0-9a-f]{32})"), "put_record"),
    ("DELETE", re.compile(_ZONE + r"/dns_records/(?P<id>[0-9a-f]{32})"), "delete_record"),
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _envelope(result: Any, info: Mapping[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if info is not None:
        body["result_info"] = dict(info)
    return body


def _failure(status: int, code: int, message: str) -> Response:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": []}
    return Response(status, {**body, "result": None})


class CloudflareEmulator(Emulator):
    """The Cloudflare API v4 DNS surface penguinctl uses; see the module docstring."""

    name = "cloudflare"

    def __init__(
        self, state: dict[str, Any] | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(state)
        for key, value in DEFAULTS.items():
            self.state.setdefault(key, copy.deepcopy(value))
        self.clock = clock
        self._calls: dict[str, list[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def initial_state(self) -> dict[str, Any]:
        return copy.deepcopy(DEFAULTS)

    # -- seeding and inspection (tests, sandbox host) -------------------------------------

    def add_zone(
        self, name: str, *, status: str = "active", name_servers: list[str] | None = None
    ) -> dict[str, Any]:
        """Create a zone (``initializing|pending|active|moved``) and return it."""
        with self.lock:
            zone_id = uuid.uuid4().hex
            zone = {
                "id": zone_id,
                "name": name.rstrip(".").lower(),
                "status": status,
                "paused": False,
                "type": "full",
                "name_servers": list(name_servers or NAME_SERVERS),
                "created_on": _now(),
                "modified_on": _now(),
                "serial": 1,
            }
            self.state["zones"][zone_id] = zone
            self.state["records"][zone_id] = {}
            self.dirty = True
            return zone

    def add_record(self, zone_name: str, **fields: Any) -> dict[str, Any]:
        """Seed a record as another tool or a person would have made it (auto-adds the zone)."""
        with self.lock:
            zones = [z for z in self.state["zones"].values() if z["name"] == zone_name]
            zone = zones[0] if zones else self.add_zone(zone_name)
            record = self._new(zone, fields, None, full=True)
            rules.check_clash(record, list(self.state["records"][zone["id"]].values()))
            self.state["records"][zone["id"]][record["id"]] = record
            self._changed(zone)
            return record

    def records(self, zone_name: str | None = None) -> list[dict[str, Any]]:
        """Every record (of one zone when named), oldest first."""
        with self.lock:
            return [
                dict(r)
                for zid, recs in self.state["records"].items()
                if zone_name is None or self.state["zones"][zid]["name"] == zone_name
                for r in recs.values()
            ]

    def dns_answers(self) -> list[DnsAnswer]:
        answers = []
        with self.lock:
            for zid, zone in self.state["zones"].items():
                if zone["status"] != "active":
                    continue
                soa = (
                    f"{zone['name_servers'][0]}. dns.cloudflare.com. {zone['serial']} "
                    "10000 2400 604800 1800"
                )
                answers.append(DnsAnswer(zone["name"], "SOA", soa, 1800))
                for rec in self.state["records"][zid].values():
                    ttl = rules.AUTO_TTL_SECONDS if rec["ttl"] == 1 else rec["ttl"]
                    content = rules.presentation(rec)
                    answers.append(DnsAnswer(rec["name"], rec["type"], content, ttl))
        return answers

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        shown = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        self.requests.append(f"{request.method} {request.path}" + (f"?{shown}" if shown else ""))
        if self.faults.get("latency"):
            time.sleep(float(self.faults["latency"]))
        if self.faults.get("fail_next", 0) > 0:
            self.faults["fail_next"] -= 1
            return _failure(500, 500, "Internal Server Error (injected fault)")
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if token is None or token not in self.state["tokens"]:
            return _failure(403, 9109, "Invalid access token")
        limited = self._rate_limit(token)
        if limited is not None:
            return limited
        path = request.path.removeprefix(PREFIX) if request.path.startswith(PREFIX) else None
        for method, pattern, action in ROUTES:
            match = pattern.fullmatch(path or "")
            if match and method == request.method:
                try:
                    response = getattr(self, "_" + action)(match.groupdict(), query, request)
                except Unexpected as exc:  # a call our clients should never make
                    self.reject(f"{request.method} {request.path}: {exc.message}")
                    response = _failure(exc.status, exc.code, exc.message)
                except ApiError as exc:
                    response = _failure(exc.status, exc.code, exc.message)
                response.headers.update(self._limit_headers(token))
                return response
        self.reject(f"{request.method} {request.path}")
        return _failure(404, 7000, "No route for that URI")

    def _rate_limit(self, token: str) -> Response | None:
        limit = self.state["rate_limit"]
        now = self.clock()
        until = self._blocked_until.get(token, 0.0)
        if now < until:
            return self._too_many(until - now)
        calls = [t for t in self._calls.get(token, []) if t > now - limit["window"]]
        calls.append(now)
        self._calls[token] = calls
        if len(calls) > limit["requests"]:
            self._blocked_until[token] = now + limit["block"]
            self._calls[token] = []
            return self._too_many(limit["block"])
        return None

    def _too_many(self, wait: float) -> Response:
        response = _failure(429, 971, "Please wait and consider throttling your request speed")
        response.headers["retry-after"] = str(max(1, math.ceil(wait)))
        return response

    def _limit_headers(self, token: str) -> dict[str, str]:
        limit = self.state["rate_limit"]
        remaining = max(0, limit["requests"] - len(self._calls.get(token, [])))
        return {
            "ratelimit": f'"default";r={remaining};t={limit["window"]}',
            "ratelimit-policy": f'"burst";q={limit["requests"]};w={limit["window"]}',
        }

    # -- helpers ---------------------------------------------------------------------------

    def _page(
        self, items: list[Any], query: Mapping[str, str], default: int, maximum: int
    ) -> Response:
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", str(default)))
        except ValueError:
            page = per_page = 0
        strict(page >= 1 and 1 <= per_page <= maximum, f"bad paging {dict(query)}")
        chunk = items[(page - 1) * per_page : page * per_page]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(items),
            "total_pages": max(1, math.ceil(len(items) / per_page)),
        }
        return Response(200, _envelope(chunk, info))

    def _zone(self, params: Mapping[str, str]) -> dict[str, Any]:
        zone = self.state["zones"].get(params["zone"])
        if zone is None:
            raise ApiError(
                404,
                7003,
                "Could not route to /zones/{}, perhaps your object identifier is invalid?".format(
                    params["zone"]
                ),
            )
        return zone

    def _record(self, zone: Mapping[str, Any], record_id: str) -> dict[str, Any]:
        record = self.state["records"][zone["id"]].get(record_id)
        if record is None:
            raise ApiError(404, 81044, "Record does not exist.")
        return record

    @staticmethod
    def _zone_view(zone: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in zone.items() if k != "serial"}

    def _body(self, request: Request) -> Any:
        try:
            return json.loads(request.body or b"null")
        except ValueError:
            raise Unexpected("Request body is not valid JSON") from None

    def _new(
        self, zone: Mapping[str, Any], body: Any, base: dict[str, Any] | None, **kw: bool
    ) -> dict[str, Any]:
        return rules.build(
            zone, body, base, max_comment=self.state["max_comment"], now=_now(), **kw
        )

    def _changed(self, zone: dict[str, Any]) -> None:
        zone["serial"] += 1
        self.dirty = True

    # -- actions ---------------------------------------------------------------------------

    def _verify(self, params: Mapping[str, str], query: Mapping[str, str], _r: Request) -> Response:
        return Response(200, _envelope({"id": TOKEN_ID, "status": "active"}))

    def _list_zones(self, _p: Mapping[str, str], query: Mapping[str, str], _r: Request) -> Response:
        extra = set(query) - {"name", "status", "page", "per_page"}
        strict(not extra, f"unsupported zone filters {sorted(extra)}")
        name = query.get("name", "").rstrip(".").lower()
        zones = [z for z in self.state["zones"].values() if not name or z["name"] == name]
        if name and not zones and self.state["auto_zones"]:
            zones = [self.add_zone(name)]
        if "status" in query:
            zones = [z for z in zones if z["status"] == query["status"]]
        return self._page([self._zone_view(z) for z in zones], query, 20, 50)

    def _get_zone(self, params: Mapping[str, str], _q: Mapping[str, str], _r: Request) -> Response:
        return Response(200, _envelope(self._zone_view(self._zone(params))))

    def _list_records(
        self, params: Mapping[str, str], query: Mapping[str, str], _r: Request
    ) -> Response:
        zone = self._zone(params)
        unknown = sorted(set(query) - rules.LIST_PARAMS)
        strict(not unknown, f"unsupported record filters {unknown}")
        found = rules.select(list(self.state["records"][zone["id"]].values()), query)
        return self._page(found, query, 100, self.state["max_per_page"])

    def _create_record(
        self, params: Mapping[str, str], _q: Mapping[str, str], request: Request
    ) -> Response:
        zone = self._zone(params)
        record = self._new(zone, self._body(request), None, full=True)
        records = self.state["records"][zone["id"]]
        rules.check_clash(record, list(records.values()))
        records[record["id"]] = record
        self._changed(zone)
        return Response(200, _envelope(record))

    def _get_record(
        self, params: Mapping[str, str], _q: Mapping[str, str], _r: Request
    ) -> Response:
        return Response(200, _envelope(self._record(self._zone(params), params["id"])))

    def _write(self, params: Mapping[str, str], request: Request, *, full: bool) -> Response:
        zone = self._zone(params)
        current = self._record(zone, params["id"])
        record = self._new(zone, self._body(request), current, full=full)
        records = self.state["records"][zone["id"]]
        rules.check_clash(record, list(records.values()))
        records[record["id"]] = record
        self._changed(zone)
        return Response(200, _envelope(record))

    def _patch_record(
        self, params: Mapping[str, str], _q: Mapping[str, str], request: Request
    ) -> Response:
        return self._write(params, request, full=False)

    def _put_record(
        self, params: Mapping[str, str], _q: Mapping[str, str], request: Request
    ) -> Response:
        return self._write(params, request, full=True)

    def _delete_record(
        self, params: Mapping[str, str], _q: Mapping[str, str], _r: Request
    ) -> Response:
        zone = self._zone(params)
        record = self._record(zone, params["id"])
        del self.state["records"][zone["id"]][record["id"]]
        self._changed(zone)
        return Response(200, _envelope({"id": record["id"]}))

    def _batch(
        self, params: Mapping[str, str], _q: Mapping[str, str], request: Request
    ) -> Response:
        zone = self._zone(params)
        body = self._body(request)
        strict(isinstance(body, dict), "batch body must be an object")
        unknown = sorted(set(body) - {"deletes", "patches", "puts", "posts"})
        strict(not unknown, f"unknown batch fields {unknown}")
        # One transaction: work on a copy, commit only when every operation succeeded.
        records = copy.deepcopy(self.state["records"][zone["id"]])
        result: dict[str, list[dict[str, Any]]] = {}
        for op in ("deletes", "patches", "puts", "posts"):
            items = body.get(op) or []
            strict(isinstance(items, list), f"batch {op} must be a list")
            done = result[op] = []
            for item in items:
                strict(isinstance(item, dict), f"batch {op} items must be objects")
                if op == "posts":
                    record = self._new(zone, item, None, full=True)
                else:
                    record_id = str(item.get("id", ""))
                    if record_id not in records:
                        raise ApiError(404, 81044, "Record does not exist.")
                    if op == "deletes":
                        done.append(records.pop(record_id))
                        continue
                    base = records[record_id]
                    record = self._new(zone, item, base, full=op == "puts", allow_id=True)
                rules.check_clash(record, list(records.values()))
                records[record["id"]] = record
                done.append(record)
        self.state["records"][zone["id"]] = records
        self._changed(zone)
        return Response(200, _envelope(result))
