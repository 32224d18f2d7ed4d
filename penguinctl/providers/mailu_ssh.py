"""MailU's configuration channel over SSH (a :class:`MailuChannel`).

* read: ``docker compose … exec -T admin flask mailu config-export -j -s domain user``
  (``-s`` so password hashes come back: the providers verify passwords against them);
* write: ``config-import -u -`` with the partial config **on stdin** (hashes only, never a
  clear-text password, never on the command line). Never without ``-u``, which would
  replace the whole configuration; never ``dkim_key: -generate-`` nor the REST DKIM call,
  which would make a new key behind the published DNS record;
* DKIM keys: the files MailU reads lazily at ``DKIM_PATH`` (``/dkim/{domain}.{selector}.key``
  in the admin container, ``<root>/dkim/`` on the host), written atomically, 0600.

The target comes from the resource's ``ssh`` attribute (host = the server's recorded
address, user/port/key from an existing server's spec) completed by the MailU instance's
settings (``ssh_key``, ``ssh_user``, ``mailu_root``, ``remote_path``). Host keys are pinned
in the store. One connection per host is kept for the whole command.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from penguinctl.core.errors import ConfigError, ProviderError, redact
from penguinctl.core.provider import ProviderContext
from penguinctl.mailu.deploy import compose_argv
from penguinctl.remote.connection import FileSpec, Pool, Remote, Target
from penguinctl.remote.errors import CommandFailed

Config = dict[str, list[dict[str, Any]]]
_pools: dict[int, tuple[Any, Pool]] = {}  # id(store) -> (store, its pool)
_pools_lock = threading.Lock()


class SshChannel:
    def __init__(self, remote: Remote, server: str, root: str = "/mailu") -> None:
        self.remote = remote
        self.server = server
        self.root = root

    def _flask(self, *args: str) -> list[str]:
        return compose_argv(self.root, "exec", "-T", "admin", "flask", "mailu", *args)

    def export(self) -> Config:
        r = self.remote.run(
            self._flask("config-export", "-j", "-s", "domain", "user"),
            what=f"MailU config-export on {self.server}",
        )
        try:
            data = json.loads(r.stdout or "{}")
        except ValueError:
            raise ProviderError(
                f"MailU config-export on {self.server} returned an unreadable reply",
                hint="check that MailU's admin container runs (penguinctl mailu deploy)",
            ) from None
        if not isinstance(data, dict):
            raise ProviderError(f"MailU config-export on {self.server}: not an object")
        return {"domain": list(data.get("domain") or []), "user": list(data.get("user") or [])}

    def import_update(self, partial: Config) -> None:
        try:
            self.remote.run(
                self._flask("config-import", "-u", "-"),
                stdin=json.dumps(partial).encode(),
                what=f"MailU config-import -u on {self.server}",
            )
        except CommandFailed as exc:
            raise ProviderError(
                f"MailU refused the change on {self.server}: {redact(exc.stderr.strip()[-300:])}",
                hint="MailU refused the change; fix the spec value it names",
            ) from None

    def _dkim_path(self, domain: str, selector: str) -> str:
        return f"{self.root}/dkim/{domain}.{selector}.key"

    def read_dkim(self, domain: str, selector: str) -> str | None:
        data = self.remote.read_file(self._dkim_path(domain, selector))
        return None if data is None else data.decode()

    def install_dkim(self, domain: str, selector: str, pem: str) -> None:
        self.remote.put_files([FileSpec(self._dkim_path(domain, selector), pem.encode(), 0o600)])


def target_for(ctx: ProviderContext, server: str, attrs: Mapping[str, Any]) -> Target:
    """The SSH target of ``server``'s MailU from the resource and the instance settings."""
    ssh = attrs.get("ssh") or {}
    settings = ctx.settings
    host = ssh.get("host")
    if not host or not isinstance(host, str) or host.startswith("("):
        raise ProviderError(
            f"the address of server {server!r} is not known yet",
            hint=f"apply server/{server} first (its address is recorded when it is created)",
        )
    key_ref = ssh.get("key") or settings.get("ssh_key")
    key_text = key_file = None
    if isinstance(key_ref, str) and key_ref.startswith(("env:", "file:", "literal:")):
        from penguinctl.core.credentials import resolve

        key_text = resolve(key_ref, base=getattr(ctx, "base_dir", None))
    elif key_ref:
        key_file = os.path.expanduser(str(key_ref))
    else:
        raise ConfigError(
            f"no SSH key to reach server {server!r}",
            hint="set providers.<mailu instance>.settings.ssh_key (a path or file:/env: "
            "reference), or sshKey in an existing server's spec",
        )
    prefix = settings.get("remote_path") or ()
    return Target(
        host=host,
        port=int(ssh.get("port") or settings.get("ssh_port") or 22),
        user=str(ssh.get("user") or settings.get("ssh_user") or "root"),
        key_filename=key_file,
        key_text=key_text,
        path_prefix=tuple([prefix] if isinstance(prefix, str) else prefix),
        connect_timeout=float(settings.get("connect_timeout", 10)),
    )


def open_ssh(ctx: ProviderContext, server: str, attrs: Mapping[str, Any]) -> SshChannel:
    from penguinctl.remote.hostkeys import MemoryPins, StorePins

    store = getattr(ctx, "services", {}).get("store")
    with _pools_lock:
        entry = _pools.get(id(store))
        if entry is None or entry[0] is not store:  # a new store that reuses an old id
            entry = _pools[id(store)] = (store, Pool(StorePins(store) if store else MemoryPins()))
        pool = entry[1]
    remote = pool.get(target_for(ctx, server, attrs))
    return SshChannel(remote, server, str(ctx.settings.get("mailu_root", "/mailu")))


@atexit.register
def _close_pools() -> None:
    for _, pool in list(_pools.values()):
        pool.close()
