"""MailU domains and mailboxes, driven through one server's configuration channel.

Both providers read before they write: they export the server's configuration,
compare it with the desired object and import (``config-import -u``) only the
items and fields that differ, so a second apply sends nothing. Deletion uses
config-import's own notation (``{"-name": domain}``, ``{"-email": address}``),
which MailU 2024.06 supports in update mode (``mailu/schemas.py``), after a read
so that deleting something already gone is not an error.

Secrets: a mailbox's password is either a reference (``env:X`` / ``file:Y``,
resolved per call) or generated once by penguinctl and kept encrypted in the store
under ``mailu_mailbox/<address>``; MailU only ever receives its bcrypt hash
(``{BLF-CRYPT}$2b$…``, a scheme config-import accepts). DKIM private keys come from
the ``dkim_key`` resource's secret and are installed as MailU's key file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from penguinctl.core.credentials import check_reference
from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext
from penguinctl.providers.mailu_channel import MailuChannel, find_item, open_channel, split_id
from penguinctl.providers.mailu_passwords import (
    desired_password,
    hash_password,
    known_password,
    verify_password,
)

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOCALPART_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
SELECTOR_RE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MB = 10**6  # MailU's quotas are decimal (its default quota_bytes is 10**9 = 1000 MB)
SUBMISSION_PORT = 587
PASSWORD_DRIFT = "(password differs)"  # what read() reports when the live hash does not match


class MailuDomainProvider(Provider):
    """``mailu_domain/<domain>``: attrs ``server``, ``domain``, ``dkim_selector``,
    ``dkim_key`` (key of the ``dkim_key`` resource holding the private key, or None);
    outputs ``domain``. The id is ``<server>/<domain>``."""

    type = "mailu"
    kind = "mailu_domain"
    replace_fields = frozenset({"server", "domain"})
    ignore_fields = frozenset({"ssh"})  # how to reach the server, not a MailU field

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = _check_server(attrs)
        if not DOMAIN_RE.match(str(attrs.get("domain", "")).lower()):
            problems.append(f"domain: {attrs.get('domain')!r} is not a domain name")
        if not SELECTOR_RE.match(str(attrs.get("dkim_selector", "dkim"))):
            problems.append("dkim_selector: letters, digits, '-' and '_' only (1-63)")
        if attrs.get("dkim_key") is not None and not isinstance(attrs.get("dkim_key"), str):
            problems.append("dkim_key: must be the key of a dkim_key resource")
        return problems

    def normalize(self, field_name: str, value: Any) -> Any:
        if field_name == "domain" and isinstance(value, str):
            return value.lower().rstrip(".")
        if field_name == "dkim_selector" and value is None:
            return "dkim"
        return value

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        server, domain = attrs["server"], self.normalize("domain", attrs["domain"])
        with open_channel(ctx, server, attrs) as channel:
            if find_item(channel.export()["domain"], "name", domain) is None:
                ctx.log(f"MailU {server}: adding domain {domain}")
                channel.import_update({"domain": [{"name": domain}]})
            self._ensure_dkim(ctx, channel, domain, attrs)
        return Created(id=f"{server}/{domain}", outputs={"domain": domain})

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        server, domain = split_id(id)
        selector = str(attrs.get("dkim_selector") or "dkim")
        with open_channel(ctx, server, attrs) as channel:
            if find_item(channel.export()["domain"], "name", domain) is None:
                raise NotFound(f"MailU domain {domain} does not exist on {server}")
            installed = channel.read_dkim(domain, selector)
        wanted = _dkim_pem(ctx, attrs.get("dkim_key"), required=False)
        # The live key matches the desired one: report the desired reference (no drift);
        # otherwise None, so a plan shows dkim_key changing and update re-installs it.
        dkim_key = attrs.get("dkim_key") if installed and installed == wanted else None
        live = {"server": server, "domain": domain, "dkim_selector": selector, "dkim_key": dkim_key}
        return Observed(id=id, attrs=live, outputs={"domain": domain})

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        server, domain = split_id(id)
        with open_channel(ctx, server, new) as channel:
            if find_item(channel.export()["domain"], "name", domain) is None:
                raise NotFound(f"MailU domain {domain} does not exist on {server}")
            self._ensure_dkim(ctx, channel, domain, new)
        return {"domain": domain}

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        server, domain = split_id(id)
        with open_channel(ctx, server, attrs) as channel:
            if find_item(channel.export()["domain"], "name", domain) is not None:
                # MailU cascades: the domain's users and aliases go with it.
                ctx.log(f"MailU {server}: deleting domain {domain}")
                channel.import_update({"domain": [{"-name": domain}]})

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        domain = self.normalize("domain", attrs["domain"])
        try:
            return self.read(ctx, f"{attrs['server']}/{domain}", attrs)
        except NotFound:
            return None

    def _ensure_dkim(
        self, ctx: ProviderContext, channel: MailuChannel, domain: str, attrs: Mapping[str, Any]
    ) -> None:
        pem = _dkim_pem(ctx, attrs.get("dkim_key"), required=True)
        if pem is None:
            return
        selector = str(attrs.get("dkim_selector") or "dkim")
        if channel.read_dkim(domain, selector) != pem:
            ctx.log(f"MailU: installing DKIM key {selector} for {domain}")
            channel.install_dkim(domain, selector, pem)


def _dkim_pem(ctx: ProviderContext, dkim_key: Any, *, required: bool) -> str | None:
    if not dkim_key:
        return None
    pem = ctx.secret(str(dkim_key), "private_key")
    if pem is None and required:
        raise ProviderError(
            f"the DKIM private key of {dkim_key} is not in the store",
            hint=f"apply {dkim_key} before the MailU domain (it generates the key)",
        )
    return pem


class MailuMailboxProvider(Provider):
    """``mailu_mailbox/<address>``: attrs ``server``, ``address``, ``display_name``,
    ``quota_mb`` (None = MailU's default, unmanaged), ``sender``, ``password_ref``
    (``env:``/``file:`` or None = generated), optional ``smtp_host`` (the mail host
    name; defaults to ``server``). Outputs ``address``, ``smtp_host``, ``smtp_port``,
    ``username``, never the password. The id is ``<server>/<address>``.

    ``sender`` is penguinctl's own flag (the campaign runner may send from the
    mailbox); MailU has no such field, so it is recorded, not pushed.
    """

    type = "mailu"
    kind = "mailu_mailbox"
    replace_fields = frozenset({"server", "address"})
    ignore_fields = frozenset({"smtp_host", "ssh"})

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = _check_server(attrs)
        address = str(attrs.get("address", "")).lower()
        local, _, domain = address.rpartition("@")
        if not LOCALPART_RE.match(local) or not DOMAIN_RE.match(domain):
            problems.append(f"address: {attrs.get('address')!r} is not an email address")
        name = attrs.get("display_name", "")
        if name is not None and (not isinstance(name, str) or len(name) > 160):
            problems.append("display_name: text of at most 160 characters")
        quota = attrs.get("quota_mb")
        if quota is not None and (
            isinstance(quota, bool) or not isinstance(quota, int) or quota < 1
        ):
            problems.append("quota_mb: a whole number of megabytes (at least 1), or null")
        if not isinstance(attrs.get("sender", False), bool):
            problems.append("sender: true or false")
        ref = attrs.get("password_ref")
        if ref is not None and (not isinstance(ref, str) or check_reference(ref)):
            problems.append("password_ref: a reference such as env:NAME or file:PATH, or null")
        return problems

    def normalize(self, field_name: str, value: Any) -> Any:
        if field_name == "address" and isinstance(value, str):
            return value.lower()
        if field_name == "display_name" and value is None:
            return ""
        if field_name == "sender" and value is None:
            return False
        return value

    # -- CRUD -------------------------------------------------------------------------

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        server, address = attrs["server"], self.normalize("address", attrs["address"])
        with open_channel(ctx, server, attrs) as channel:
            live = find_item(channel.export()["user"], "email", address)
            password = desired_password(ctx, address, attrs)
            if live is None:
                item = {"email": address, "password": hash_password(ctx, password)}
                item.update(self._fields({}, attrs))
                ctx.log(f"MailU {server}: adding mailbox {address}")
                channel.import_update({"user": [item]})
            else:
                # A retry after a lost reply, or an adoption: converge instead of duplicating.
                self._converge(ctx, channel, server, address, live, attrs, password)
        return Created(id=f"{server}/{address}", outputs=self._outputs(ctx, attrs, server, address))

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        server, address = split_id(id)
        with open_channel(ctx, server, attrs) as channel:
            live = find_item(channel.export()["user"], "email", address)
        if live is None:
            raise NotFound(f"MailU mailbox {address} does not exist on {server}")
        quota = live.get("quota_bytes", 10**9)
        observed = {
            "server": server,
            "address": address,
            "display_name": live.get("displayed_name", ""),
            "quota_mb": None if "quota_mb" in attrs and attrs["quota_mb"] is None else quota // MB,
            "sender": bool(attrs.get("sender", False)),
            "password_ref": _observed_ref(ctx, address, attrs, str(live.get("password"))),
        }
        return Observed(id=id, attrs=observed, outputs=self._outputs(ctx, attrs, server, address))

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        server, address = split_id(id)
        with open_channel(ctx, server, new) as channel:
            live = find_item(channel.export()["user"], "email", address)
            if live is None:
                raise NotFound(f"MailU mailbox {address} does not exist on {server}")
            password = desired_password(ctx, address, new)
            self._converge(ctx, channel, server, address, live, new, password)
        return self._outputs(ctx, new, server, address)

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        server, address = split_id(id)
        with open_channel(ctx, server, attrs) as channel:
            if find_item(channel.export()["user"], "email", address) is not None:
                ctx.log(f"MailU {server}: deleting mailbox {address}")
                channel.import_update({"user": [{"-email": address}]})

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        address = self.normalize("address", attrs["address"])
        try:
            return self.read(ctx, f"{attrs['server']}/{address}", attrs)
        except NotFound:
            return None

    # -- helpers ----------------------------------------------------------------------

    def _fields(self, live: Mapping[str, Any], attrs: Mapping[str, Any]) -> dict[str, Any]:
        """MailU fields that differ between ``live`` and ``attrs`` (all of them for a new user)."""
        wanted: dict[str, Any] = {"displayed_name": attrs.get("display_name") or ""}
        if attrs.get("quota_mb") is not None:
            wanted["quota_bytes"] = int(attrs["quota_mb"]) * MB
        defaults = {"displayed_name": "", "quota_bytes": 10**9}
        return {k: v for k, v in wanted.items() if live.get(k, defaults[k]) != v}

    def _converge(
        self,
        ctx: ProviderContext,
        channel: MailuChannel,
        server: str,
        address: str,
        live: Mapping[str, Any],
        attrs: Mapping[str, Any],
        password: str,
    ) -> None:
        changes = self._fields(live, attrs)
        if not verify_password(password, str(live.get("password"))):
            changes["password"] = hash_password(ctx, password)
        if changes:
            shown = ", ".join(sorted("password" if k == "password" else k for k in changes))
            ctx.log(f"MailU {server}: updating mailbox {address} ({shown})")
            channel.import_update({"user": [{"email": address, **changes}]})

    @staticmethod
    def _outputs(
        ctx: ProviderContext, attrs: Mapping[str, Any], server: str, address: str
    ) -> dict[str, Any]:
        outputs: dict[str, Any] = {
            "address": address,
            "smtp_host": attrs.get("smtp_host") or server,
            "smtp_port": SUBMISSION_PORT,
            "username": address,
        }
        host = (attrs.get("ssh") or {}).get("host")
        if ctx.sandbox and isinstance(host, str) and host:
            # The sandbox MailU's submission endpoint listens on the server's own loopback
            # address, on the port and with the CA the sandbox reports (sandbox/smtp.py).
            from penguinctl.sandbox.smtp import submission_info

            info = submission_info(ctx.endpoint("mailu"))
            if info is not None:
                outputs.update(
                    smtp_host=host, smtp_port=int(info["port"]), smtp_ca_file=info["ca_file"]
                )
        return outputs


def _check_server(attrs: Mapping[str, Any]) -> list[str]:
    server = attrs.get("server")
    if not isinstance(server, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$", server):
        return [f"server: {server!r} is not a server name"]
    return []


def _observed_ref(
    ctx: ProviderContext, address: str, attrs: Mapping[str, Any], live_hash: str
) -> str | None:
    """The desired ``password_ref`` when MailU's hash matches it, else a drift marker."""
    password = known_password(ctx, address, attrs)
    if password is not None and verify_password(password, live_hash):
        return attrs.get("password_ref") or None
    return PASSWORD_DRIFT
