"""Strict emulator of the Hostwinds Cloud API (``POST /cloud/api.php``) for tests and ``--sandbox``.

It reproduces what the project's API notes (apis.md §1) gathered from third-party
clients: one endpoint, a form-encoded body carrying ``action=`` and ``API=``, HTTP 200 for
errors, ``{"success": …}`` reads, list-of-steps action replies, ``add_instance`` replying
*without* a service id and provisioning asynchronously (``vm_state`` ``building`` →
``active`` after ``state["provision_seconds"]`` on the wall clock), ``toggle_lock``
toggling, and a root ``password`` on every instance object (random, so tests can prove it
never leaks).

**Unconfirmed (❓) parts, invented here and kept in one place:** the action names that list
locations and images (``state["actions"]``, defaults equal to the provider's table), their
reply shapes, and the wording of errors no source quotes (unknown service id, out of
capacity, locked service, unknown product or template). Verify them against
``https://developers.hostwinds.com/cloud/`` before trusting them.

Faults (``self.faults``):

* ``fail_next``: int — the next *n* requests get HTTP 500 (no effect); or ``{action: n}``
  to fail only the next *n* requests of that action;
* ``error_next``: str — the next request gets that vendor error message (HTTP 200, no
  effect); or ``{action: message}`` for the next request of that action only;
* ``add_instance_timeout``: True — the next ``add_instance`` *is* performed but its reply is
  dropped (connection closed); a number — the reply is delayed that many seconds instead;
* ``capacity``: True or a location id — ``add_instance`` there fails as out of capacity;
* ``latency``: seconds slept before answering each request (without holding the world
  lock, so concurrent requests wait concurrently, as on the real API).

``state["purchases"]`` counts instances bought, so tests can prove nothing is bought twice.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from penguinctl.sandbox.base import DnsAnswer, Emulator, Request, Response

ENDPOINT = "/cloud/api.php"
# Defaults must equal penguinctl.providers.hostwinds.UNCONFIRMED_ACTIONS (a test checks).
ACTIONS = {"locations": "get_locations", "images": "get_images"}

LOCATIONS = [
    {"id": 1, "name": "Seattle", "code": "SEA1"},
    {"id": 2, "name": "Dallas", "code": "DAL1"},
    {"id": 3, "name": "Amsterdam", "code": "AMS1"},
]
IMAGES = [
    {"id": "3d5e1f0a-0000-4000-8000-000000002204", "name": "Ubuntu 22.04", "ref": "ubuntu-22.04"},
    {"id": "3d5e1f0a-0000-4000-8000-000000002404", "name": "Ubuntu 24.04", "ref": "ubuntu-24.04"},
    {"id": "3d5e1f0a-0000-4000-8000-000000001200", "name": "Debian 12", "ref": "debian-12"},
]
_PLAN_ROWS = [  # id, name, ram MB, cpu, disk GB, bandwidth GB, monthly
    (201, "Unmetered 1GB", 1024, 1, 30, 0, "4.99"),
    (202, "Unmetered 2GB", 2048, 1, 50, 0, "9.99"),
    (203, "Unmetered 4GB", 4096, 2, 75, 0, "18.99"),
    (204, "Unmetered 8GB", 8192, 4, 150, 0, "37.99"),
]
PRICE_LIST = {
    str(i): {
        "id": i,
        "rid": i + 1000,
        "name": n,
        "ram": r,
        "cpu": c,
        "disk": d,
        "bandwidth": b,
        "monthly": m,
        "quarterly": f"{float(m) * 3:.2f}",
        "annually": f"{float(m) * 12 * 0.9:.2f}",
        "promo": 0,
        "cycles": ["monthly", "quarterly", "annually"],
    }
    for i, n, r, c, d, b, m in _PLAN_ROWS
}
TITLES = {  # the "action" shown in list-of-steps replies
    "add_instance": "Add Instance",
    "terminate": "Terminate",
    "toggle_lock": "Toggle Lock",
    "edit_instance": "Edit Instance",
    "set_rdns": "Set rDNS",
    "get_instance": "Get Instance",
}
AUTH_ERROR = {"result": "error", "action": "Authorization", "message": "Not Authorized!"}


def _steps(action: str, message: str, result: str = "success") -> list[dict[str, Any]]:
    return [{"result": result, "action": TITLES.get(action, action), "message": message}]


class HostwindsEmulator(Emulator):
    """The Hostwinds Cloud API. ``addresses`` (an ``AddressPool``) hands out main IPs when
    the sandbox host provides one; otherwise 127.20.x.y come from a counter in the state."""

    name = "hostwinds"

    def __init__(self, state: dict[str, Any] | None = None, *, addresses: Any = None) -> None:
        super().__init__(state)
        self.addresses = addresses
        self._reply_lost = False
        self.faults["drop_connection"] = self._drop_lost_reply  # replaceable by a test

    def initial_state(self) -> dict[str, Any]:
        return {
            "api_keys": ["sandbox-token"],
            "provision_seconds": 0.5,
            "hourly_enabled": False,
            "actions": dict(ACTIONS),
            "instances": {},  # serviceid (str) -> instance object
            "rdns": {},  # ip -> hostname
            "ready_at": {},  # serviceid (str) -> epoch seconds
            "next_serviceid": 4_100_001,
            "next_ip": 1,
            "purchases": 0,
        }

    # -- request handling -------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != ENDPOINT:
            self.reject(f"{request.method} {request.path}")
            return Response(404, {"result": "error", "message": "Not Found"})
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            # One client sending JSON reports an authorization failure: same here.
            self.reject(f"POST {request.path} with a non-form body")
            return Response(200, [AUTH_ERROR])
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        action = (form.get("action") or [""])[0]
        sid = (form.get("serviceid") or [""])[0]
        self.requests.append(f"POST {request.path} {action}" + (f" {sid}" if sid else ""))
        if latency := self.faults.get("latency"):
            self._wait_unlocked(float(latency))
        if self._take_failure(action):
            return Response(
                500, b"<html>500 Internal Server Error</html>", {"content-type": "text/html"}
            )
        if (form.get("API") or [""])[0] not in self.state["api_keys"]:
            return Response(200, AUTH_ERROR)
        if message := self._take_error(action):
            return Response(200, _steps(action, message, "error"))
        names = self.state["actions"]
        if action == names.get("locations"):
            return Response(200, {"success": LOCATIONS})
        if action == names.get("images"):
            return Response(200, {"success": IMAGES})
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            self.reject(f"unknown action {action!r}")
            return Response(200, _steps(action, "Invalid action", "error"))
        return handler(form)

    def _wait_unlocked(self, seconds: float) -> None:
        """Sleep without holding the world lock: a real API answers concurrent requests
        concurrently, so latency must not serialise them (bench/servers_apply.py)."""
        try:
            self.lock.release()  # held once by the sandbox host around handle()
        except RuntimeError:  # called directly, without the host's lock
            time.sleep(seconds)
            return
        try:
            time.sleep(seconds)
        finally:
            self.lock.acquire()
        self.tick()  # the world moved on while this request waited

    def _take_failure(self, action: str) -> bool:
        fail = self.faults.get("fail_next")
        if isinstance(fail, dict):  # {action: n}: only that action fails
            if fail.get(action):
                fail[action] -= 1
                return True
            return False
        if fail:
            self.faults["fail_next"] = fail - 1
            return True
        return False

    def _take_error(self, action: str) -> str | None:
        error = self.faults.get("error_next")
        if isinstance(error, dict):  # {action: message}: only that action's next request
            message = error.pop(action, None)
            return None if message is None else str(message)
        return None if error is None else str(self.faults.pop("error_next"))

    def _instance(self, form: dict[str, list[str]]) -> dict[str, Any] | None:
        return self.state["instances"].get((form.get("serviceid") or [""])[0])

    def _no_service(self, action: str) -> Response:
        return Response(200, _steps(action, "Service not found.", "error"))

    def _do_get_instances(self, form: dict[str, list[str]]) -> Response:
        return Response(200, {"success": list(self.state["instances"].values())})

    def _do_get_instance_ids(self, form: dict[str, list[str]]) -> Response:
        search = (form.get("search") or [""])[0].lower()
        rows = [
            {
                "id": i["serviceid"],
                "hostname": i["hostname"],
                "srvrname": i["srvrname"],
                "ips": ",".join(i["ips"]),
                "dedicatedip": i["main_ip"],
                "ip_v6": i["ip_v6"],
            }
            for i in self.state["instances"].values()
            if search in f"{i['srvrname']} {i['hostname']} {i['main_ip']}".lower()
        ]
        return Response(200, {"success": rows})

    def _do_get_instance(self, form: dict[str, list[str]]) -> Response:
        instance = self._instance(form)
        if instance is None:
            return self._no_service("get_instance")
        return Response(200, {"success": instance})

    def _do_check_serviceid(self, form: dict[str, list[str]]) -> Response:
        return Response(200, {"success": self._instance(form) is not None})

    def _do_get_instance_ips(self, form: dict[str, list[str]]) -> Response:
        instance = self._instance(form)
        if instance is None:
            return self._no_service("get_instance_ips")
        return Response(200, {"success": {"IP Addresses": [{"ip": ip} for ip in instance["ips"]]}})

    def _do_get_price_list(self, form: dict[str, list[str]]) -> Response:
        return Response(200, {"success": PRICE_LIST})

    def _do_add_instance(self, form: dict[str, list[str]]) -> Response:
        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        fail = None
        plan = next((p for p in PRICE_LIST.values() if str(p["rid"]) == one("rid")), None)
        location = next((loc for loc in LOCATIONS if str(loc["id"]) == one("location_id")), None)
        image = next((i for i in IMAGES if one("template") in (i["id"], i["ref"])), None)
        cycle = one("billingcycle") or "monthly"
        capacity = self.faults.get("capacity")
        if location is None:
            fail = "Location Id is invalid."
        elif plan is None:
            fail = "Product is not available."
        elif image is None:
            fail = "Template is invalid."
        elif cycle == "hourly" and not self.state["hourly_enabled"]:
            fail = "Hourly products are disabled! Please contact customer service."
        elif capacity is True or (capacity and str(capacity) == str(location["id"])):
            fail = "The selected location is out of capacity."
        if fail is not None or plan is None or location is None or image is None:
            return Response(200, _steps("add_instance", fail or "", "error"))
        for _ in range(int(one("qty") or 1)):
            self._create(one("srvrname"), plan, location, image, cycle, form.get("keys[]", []))
        reply = [
            {"result": "success", "action": "Invoice Paid", "message": "Invoice has been paid."},
            *_steps("add_instance", "Server is being Created!"),
        ]
        timeout = self.faults.pop("add_instance_timeout", None)
        if timeout is True:
            self._reply_lost = True
        elif timeout:
            time.sleep(float(timeout))
        return Response(200, reply)

    def _drop_lost_reply(self, request: Request) -> bool:
        # The sandbox host reads faults["drop_connection"] *before* handle() and calls it
        # after: this hook lets handle() decide, mid-request, that its reply is lost.
        lost, self._reply_lost = self._reply_lost, False
        return lost

    def _do_terminate(self, form: dict[str, list[str]]) -> Response:
        instance = self._instance(form)
        if instance is None:
            return self._no_service("terminate")
        if instance["locked"]:
            return Response(200, _steps("terminate", "Service is locked.", "error"))
        del self.state["instances"][str(instance["serviceid"])]
        self.state["ready_at"].pop(str(instance["serviceid"]), None)
        for ip in instance["ips"]:
            self.state["rdns"].pop(ip, None)
            if self.addresses is not None:
                self.addresses.release(ip)
        self.dirty = True
        return Response(200, [{"result": "success", "message": "Instance deleted"}])

    def _do_toggle_lock(self, form: dict[str, list[str]]) -> Response:
        instance = self._instance(form)
        if instance is None:
            return self._no_service("toggle_lock")
        instance["locked"] = 0 if instance["locked"] else 1
        self.dirty = True
        word = "locked" if instance["locked"] else "unlocked"
        return Response(200, _steps("toggle_lock", f"Service has been {word}."))

    def _do_edit_instance(self, form: dict[str, list[str]]) -> Response:
        instance = self._instance(form)
        name = (form.get("srvrname") or [""])[0]
        if instance is None:
            return self._no_service("edit_instance")
        if not name:
            return Response(200, _steps("edit_instance", "Server name is required.", "error"))
        instance["srvrname"] = name
        self.dirty = True
        return Response(200, _steps("edit_instance", "Instance server name has been updated"))

    def _do_set_rdns(self, form: dict[str, list[str]]) -> Response:
        instance = self._instance(form)
        ip, host = (form.get("ip") or [""])[0], (form.get("rdns") or [""])[0]
        if instance is None:
            return self._no_service("set_rdns")
        if ip not in instance["ips"] or not host:
            return Response(200, _steps("set_rdns", "Invalid IP or rDNS.", "error"))
        self.state["rdns"][ip] = host.rstrip(".")
        self.dirty = True
        return Response(200, _steps("set_rdns", "rDNS record updated."))

    # -- provisioning -----------------------------------------------------------------

    def _create(
        self, srvrname: str, plan: dict, location: dict, image: dict, cycle: str, keys: list[str]
    ) -> None:
        sid = self.state["next_serviceid"]
        self.state["next_serviceid"] += 1
        self.state["purchases"] += 1
        now = time.time()
        # When it becomes active: kept beside, not in, the vendor's object.
        self.state["ready_at"][str(sid)] = now + float(self.state["provision_seconds"])
        self.state["instances"][str(sid)] = {
            "serviceid": sid,
            "userid": 90001,
            "location_id": location["id"],
            "server_uuid": str(uuid.uuid4()),
            "volume_uuid": str(uuid.uuid4()),
            "password": secrets.token_urlsafe(18),
            "port_uuid": str(uuid.uuid4()),
            "main_ip": None,
            "private_ip": None,
            "ips": [],
            "upgrade_available": 0,
            "is_suspended": 0,
            "ssh_keys": list(keys),
            "hourly": 1 if cycle == "hourly" else 0,
            "bandwidth": plan["bandwidth"],
            "bandwidth_used": 0,
            "pswd_changed": 0,
            "srvrname": srvrname or f"hwsrv-{sid}",
            "template_uuid": image["id"],
            "locked": 0,
            "hostname": f"hwsrv-{sid}.hostwindsdns.com",
            "product_id": plan["id"],
            "billingcycle": cycle,
            "product_name": plan["name"],
            "disk_type": "ssd",
            "status": "building",
            "disp_status": "Building",
            "image": {"id": image["id"], "name": image["name"]},
            "ip_v6": None,
            "flavor": {"ram": plan["ram"], "vcpus": plan["cpu"], "disk": plan["disk"]},
            "vm_state": "building",
            "task_state": "spawning",
            "power_state": 0,
            "image_ref": image["ref"],
            "ram": plan["ram"],
            "cpu": plan["cpu"],
            "disk": plan["disk"],
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
            "name": f"hwsrv-{sid}",
        }
        self.dirty = True

    def tick(self) -> None:
        now = time.time()
        for sid, instance in self.state["instances"].items():
            if instance["vm_state"] == "building" and self.state["ready_at"].get(sid, 0) <= now:
                ip = self._allocate(instance["serviceid"])
                instance.update(
                    main_ip=ip, ips=[ip], vm_state="active", task_state=None, power_state=1,
                    status="active", disp_status="Active",
                    launched_at=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
                )  # fmt: skip
                self.dirty = True

    def _allocate(self, serviceid: int) -> str:
        if self.addresses is not None:
            return str(self.addresses.allocate(f"hostwinds:{serviceid}"))
        n = self.state["next_ip"]
        while n % 256 in (0, 255):  # never a .0 or .255 last octet
            n += 1
        self.state["next_ip"] = n + 1
        return str(ipaddress.IPv4Address("127.20.0.0") + n)

    def dns_answers(self) -> list[DnsAnswer]:
        return [
            DnsAnswer(
                name=ipaddress.IPv4Address(ip).reverse_pointer, type="PTR", content=f"{host}."
            )
            for ip, host in sorted(self.state["rdns"].items())
        ]
