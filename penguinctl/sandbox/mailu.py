"""Sandbox stand-in for MailU's admin configuration channel, one MailU per server.

The real channel (a later issue) runs ``flask mailu config-export -j`` /
``config-import -u`` in the admin container over SSH and drops DKIM key files
into ``/mailu/dkim``. This emulator serves the same data over the sandbox HTTP
router, keyed by server name:

- ``GET  /servers/{server}/config[?full=1]`` → ``{"domain": [...], "user": [...]}``
  in config-export's shape (apis.md §2.4): primary key first, then the other
  fields alphabetically, fields equal to MailU's column default left out unless
  ``full=1`` (``-f``). Passwords are exported as their hash, as MailU does.
- ``POST /servers/{server}/import?update=1`` with a body in that shape merges
  like ``config-import -u``: items are matched by ``name`` / ``email``, given
  fields overwrite, ``-name`` / ``-email`` deletes, lists merge (``-x`` removes
  an item, ``-prune-`` replaces the list). All or nothing. Without ``update=1``
  → 400, and recorded as unexpected: penguinctl never replaces a whole config.
- ``PUT /servers/{server}/dkim/{domain}/{selector}`` stores a PEM private key
  (``/dkim/{domain}.{selector}.key``); ``GET`` on the same path reads it back.

Stricter than MailU on purpose: only the ``domain`` and ``user`` sections, only
password *hashes* (``hash_password: true`` with a clear text is refused, so a
clear-text password can never reach the channel or this state). Anything else
is a 404 recorded in :attr:`unexpected`.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any

from penguinctl.sandbox.base import Emulator, Request, Response

DOMAIN_DEFAULTS: dict[str, Any] = {
    "alternatives": [],
    "comment": "",
    "max_aliases": -1,
    "max_quota_bytes": 0,
    "max_users": -1,
    "signup_enabled": False,
}
USER_DEFAULTS: dict[str, Any] = {
    "allow_spoofing": False,
    "change_pw_next_login": False,
    "comment": "",
    "displayed_name": "",
    "enable_imap": True,
    "enable_pop": True,
    "enabled": True,
    "forward_destination": [],
    "forward_enabled": False,
    "forward_keep": True,
    "global_admin": False,
    "quota_bytes": 10**9,
    "reply_body": None,
    "reply_enabled": False,
    "reply_enddate": "2999-12-31",
    "reply_startdate": "1900-01-01",
    "reply_subject": None,
    "spam_enabled": True,
    "spam_mark_as_read": True,
    "spam_threshold": 80,
}
# The {SCHEME} prefixes MailU strips, and the hash shapes passlib identifies.
_SCHEME = re.compile(r"^\{(PBKDF2|BLF-CRYPT|SHA512-CRYPT|SHA256-CRYPT|MD5-CRYPT|CRYPT)\}")
_HASH = re.compile(
    r"^\$(2[abxy]|bcrypt-sha256|pbkdf2(-sha(1|256|512))?|[156]|argon2(id|i|d))\$\S+$"
)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SERVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


class InvalidImport(ValueError):
    """A config-import payload MailU would refuse (400)."""


class MailuEmulator(Emulator):
    """Per-server MailU configuration (domains, users, DKIM key files)."""

    name = "mailu"

    def initial_state(self) -> dict[str, Any]:
        return {"servers": {}}

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        self.requests.append(f"{request.method} {request.path}")
        if len(parts) >= 3 and parts[0] == "servers" and _SERVER.match(parts[1]):
            server, rest = parts[1], parts[2:]
            if request.method == "GET" and rest == ["config"]:
                full = request.query.get("full", ["0"])[-1] == "1"
                return Response(200, self.export(server, full=full))
            if request.method == "POST" and rest == ["import"]:
                return self._import(server, request)
            if len(rest) == 3 and rest[0] == "dkim" and request.method in ("GET", "PUT"):
                return self._dkim(server, rest[1].lower(), rest[2], request)
        self.reject(f"{request.method} {request.path}")
        return Response(
            404, {"error": f"no such MailU channel call: {request.method} {request.path}"}
        )

    # --- reading -----------------------------------------------------------------

    def _server(self, server: str) -> dict[str, Any]:
        return self.state["servers"].get(server) or {"domain": {}, "user": {}, "dkim": {}}

    def export(self, server: str, *, full: bool = False) -> dict[str, list[dict[str, Any]]]:
        """``config-export -j`` restricted to the domain and user sections."""
        config = self._server(server)
        return {
            "domain": [
                _dump("name", d, DOMAIN_DEFAULTS, full) for _, d in sorted(config["domain"].items())
            ],
            "user": [
                _dump("email", u, USER_DEFAULTS, full, always=("password",))
                for _, u in sorted(config["user"].items())
            ],
        }

    def dkim_key(self, server: str, domain: str, selector: str) -> str | None:
        return self._server(server)["dkim"].get(f"{domain}.{selector}")

    # --- writing -----------------------------------------------------------------

    def _import(self, server: str, request: Request) -> Response:
        if request.query.get("update", [""])[-1] != "1":
            self.reject(f"POST {request.path} without update=1")
            return Response(
                400,
                {
                    "error": "config-import without -u replaces the whole config; "
                    "penguinctl only merges (update=1)"
                },
            )
        try:
            payload = json.loads(request.body or b"null")
            config = copy.deepcopy(self._server(server))
            counts = _merge(config, payload)
        except (InvalidImport, json.JSONDecodeError) as exc:
            return Response(400, {"error": f"[ValidationError] {exc}"})
        if counts:
            self.state["servers"][server] = config
            self.dirty = True
        return Response(200, {"changes": _summary(counts), "message": _message(counts)})

    def _dkim(self, server: str, domain: str, selector: str, request: Request) -> Response:
        if not _DOMAIN.match(domain) or not re.match(r"^[A-Za-z0-9_-]{1,63}$", selector):
            return Response(400, {"error": "invalid domain or selector"})
        key = f"{domain}.{selector}"
        path = f"/dkim/{key}.key"
        if request.method == "GET":
            pem = self.dkim_key(server, domain, selector)
            if pem is None:
                return Response(404, {"error": f"{path}: no such file"})
            return Response(200, pem.encode(), {"content-type": "application/x-pem-file"})
        pem = request.body.decode("ascii", "replace").strip() + "\n"
        if not _valid_private_key(pem):
            return Response(400, {"error": f"{path}: not an unencrypted PEM private key"})
        config = self.state["servers"].setdefault(server, self._server(server))
        if config["dkim"].get(key) != pem:
            config["dkim"][key] = pem
            self.dirty = True
        return Response(200, {"path": path})


def _dump(
    primary: str,
    item: dict[str, Any],
    defaults: dict[str, Any],
    full: bool,
    always: tuple[str, ...] = (),
) -> dict[str, Any]:
    out = {primary: item[primary]}
    for key in sorted(set(defaults) | set(always)):
        value = item.get(key, defaults.get(key))
        if full or key in always or value != defaults.get(key):
            out[key] = value
    return out


def _valid_private_key(pem: str) -> bool:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return True


def _merge(config: dict[str, Any], payload: Any) -> Counter[tuple[str, str]]:
    """Apply one ``config-import -u`` payload to ``config`` in place; count changes."""
    if not isinstance(payload, dict):
        raise InvalidImport("the import must be an object with 'domain' and/or 'user' lists")
    extra = sorted(set(payload) - {"domain", "user"})
    if extra:
        raise InvalidImport(f"unsupported sections: {', '.join(extra)}")
    counts: Counter[tuple[str, str]] = Counter()
    for section, primary, defaults in (
        ("domain", "name", DOMAIN_DEFAULTS),
        ("user", "email", USER_DEFAULTS),
    ):
        items = payload.get(section, [])
        if not isinstance(items, list):
            raise InvalidImport(f"{section}: must be a list")
        for i, item in enumerate(items):
            where = f"{section}.{i}"
            if not isinstance(item, dict):
                raise InvalidImport(f"{where}: must be an object")
            _merge_item(config, section, primary, defaults, item, where, counts)
    return counts


def _merge_item(
    config: dict[str, Any],
    section: str,
    primary: str,
    defaults: dict[str, Any],
    item: dict[str, Any],
    where: str,
    counts: Counter[tuple[str, str]],
) -> None:
    table: dict[str, dict[str, Any]] = config[section]
    if f"-{primary}" in item:
        key = str(item[f"-{primary}"]).lower()
        if key not in table:
            raise InvalidImport(f"{where}.{primary}: Item to delete not found: {key!r}.")
        del table[key]
        counts["Deleted", section] += 1
        if section == "domain":  # MailU cascades users (delete-orphan)
            for email in [e for e in config["user"] if e.rsplit("@", 1)[1] == key]:
                del config["user"][email]
                counts["Deleted", "user"] += 1
        return
    given = item.get(primary)
    if not isinstance(given, str) or not given:
        raise InvalidImport(f"{where}.{primary}: Missing data for required field.")
    key = given.lower()
    allowed = (
        set(defaults) | {primary} | ({"password", "hash_password"} if section == "user" else set())
    )
    unknown = sorted(set(item) - allowed)
    if section == "domain":
        if not _DOMAIN.match(key):
            raise InvalidImport(f"{where}.name: invalid domain name {key!r}")
    else:
        _check_user(config, key, item, where, exists=key in table)
    if unknown:
        raise InvalidImport(f"{where}: Unknown field(s): {', '.join(unknown)}")
    current = table.get(key)
    updated = dict(current) if current else {primary: key, **copy.deepcopy(defaults)}
    for field, value in item.items():
        if field in (primary, "hash_password"):
            continue
        if field != "password":
            _check_type(field, value, defaults[field], where)
        if isinstance(value, list):
            old = current.get(field, []) if current else []
            value = _merge_list(old, value, f"{where}.{field}")
        updated[field] = _SCHEME.sub("", value) if field == "password" else value
    if updated != current:
        table[key] = updated
        counts["Created" if current is None else "Modified", section] += 1


def _check_user(
    config: dict[str, Any], email: str, item: dict[str, Any], where: str, *, exists: bool
) -> None:
    if email.count("@") != 1 or not _DOMAIN.match(email.rsplit("@", 1)[1]):
        raise InvalidImport(f"{where}.email: invalid address {email!r}")
    if email.rsplit("@", 1)[1] not in config["domain"]:
        raise InvalidImport(f"{where}.email: domain {email.rsplit('@', 1)[1]!r} does not exist")
    if item.get("hash_password"):
        raise InvalidImport(f"{where}.hash_password: the sandbox channel accepts hashes only")
    password = item.get("password")
    if password is None:
        if not exists:
            raise InvalidImport(f"{where}.password: Missing data for required field.")
        return
    if not isinstance(password, str) or not _HASH.match(_SCHEME.sub("", password)):
        # Never echo the value: it may be a clear-text password sent by mistake.
        raise InvalidImport(f"{where}.password: invalid password hash")


def _check_type(field: str, value: Any, default: Any, where: str) -> None:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = value is None or isinstance(value, str)
    if not ok:
        raise InvalidImport(f"{where}.{field}: invalid value type {type(value).__name__}")


def _merge_list(old: list[str], new: list[str], where: str) -> list[str]:
    """config-import -u list semantics: union, ``-x`` removes x, ``-prune-`` replaces."""
    result = set() if "-prune-" in new else set(old)
    for value in new:
        if value == "-prune-":
            continue
        if value.startswith("-"):
            if value[1:] not in result:
                raise InvalidImport(f"{where}: Item to delete not found: {value[1:]!r}.")
            result.discard(value[1:])
        else:
            result.add(value)
    return sorted(result)


def _summary(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (action, section), n in sorted(counts.items()):
        out.setdefault(action, {})[section] = n
    return out


def _message(counts: Counter[tuple[str, str]]) -> str:
    """The CLI's summary line, e.g. ``Created: domain(1) user(2) / Modified: user(1)``."""
    if not counts:
        return "No changes."
    return " / ".join(
        f"{action}: " + " ".join(f"{s}({n})" for s, n in sections.items())
        for action, sections in _summary(counts).items()
    )
