"""Postfix + OpenDKIM on loopback: a signing MTA that relays to a sink
(shared/reference/test-servers.md §4).

A second Postfix instance beside whatever the machine runs: its own config dir
(``master -c DIR``), queue and data dirs, one smtpd on a free loopback port, every
service unchrooted, and ``relayhost`` pointing at the caller's sink. OpenDKIM signs
(``Mode s``) with the key it is given over a unix socket in the same private dir —
not ``inet:127.0.0.1:PORT``: over loopback TCP the milter costs ~88 ms per message
(pitfall 3 of the reference), over the socket ~5 ms, and the socket needs no port.

Both run in the foreground (``master -d``, ``opendkim -f``) so they are stopped by
their own PID; needs root (Postfix's master drops to ``mail_owner``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from tests.daemons.base import (
    LOOPBACK,
    Daemon,
    DaemonUnavailable,
    banner,
    find_binary,
    free_port,
    short_tmpdir,
    start_with_retry,
    wait_until,
)

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.{domain}
mydomain = {domain}
myorigin = $mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [{relay_host}]:{relay_port}
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtputf8_enable = no
maillog_file = /dev/stdout
smtpd_milters = unix:{dir}/dkim/opendkim.sock
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
"""

# Every service unchrooted (column 5 = n); the first line is the only listener.
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n  -  n  60     1  pickup
cleanup   unix  n  -  n  -      0  cleanup
qmgr      unix  n  -  n  300    1  qmgr
rewrite   unix  -  -  n  -      -  trivial-rewrite
bounce    unix  -  -  n  -      0  bounce
defer     unix  -  -  n  -      0  bounce
trace     unix  -  -  n  -      0  bounce
verify    unix  -  -  n  -      1  verify
flush     unix  n  -  n  1000?  0  flush
proxymap  unix  -  -  n  -      -  proxymap
proxywrite unix -  -  n  -      1  proxymap
smtp      unix  -  -  n  -      -  smtp
relay     unix  -  -  n  -      -  smtp
showq     unix  n  -  n  -      -  showq
error     unix  -  -  n  -      -  error
retry     unix  -  -  n  -      -  error
discard   unix  -  -  n  -      -  discard
anvil     unix  -  -  n  -      1  anvil
scache    unix  -  -  n  -      1  scache
postlog   unix-dgram n - n -    1  postlogd
"""

OPENDKIM_CONF = """\
Syslog no
LogWhy yes
Background no
Mode s
Domain {domain}
Selector {selector}
KeyFile {dir}/dkim/{selector}.private
Canonicalization relaxed/simple
Socket local:{dir}/dkim/opendkim.sock
UMask 000
PidFile {dir}/dkim/opendkim.pid
InternalHosts 127.0.0.0/8
SignatureAlgorithm rsa-sha256
SignHeaders {sign_headers}
OversignHeaders From
RequireSafeKeys no
"""


@dataclass
class SigningMta:
    """Postfix at ``host:port`` signing for ``domain`` with ``selector`` and relaying on."""

    host: str
    port: int
    domain: str
    selector: str
    postfix: Daemon
    opendkim: Daemon

    def maillog(self) -> str:
        """The tail of Postfix's log (``maillog_file = /dev/stdout``: the master's output)."""
        return self.postfix.log()

    def stop(self) -> None:
        # Postfix first (it holds milter connections), then OpenDKIM; the shared
        # folder goes with the last one.
        self.postfix.stop(remove=False)
        self.opendkim.stop()


def start_signing_mta(
    *,
    relay: tuple[str, int],
    domain: str,
    selector: str,
    private_pem: str,
    sign_headers: list[str],
) -> SigningMta:
    """Start OpenDKIM then Postfix; mail submitted on the port is signed and relayed."""
    postfix = find_binary("postfix", "/usr/sbin/postfix")
    master = find_binary("master", "/usr/lib/postfix/sbin/master")
    opendkim = find_binary("opendkim", "/usr/sbin/opendkim")
    if os.geteuid() != 0:
        raise DaemonUnavailable("a Postfix instance needs root (master drops to mail_owner)")

    def start() -> SigningMta:
        d = short_tmpdir("mta")
        for sub in ("queue", "data", "dkim"):
            (d / sub).mkdir()
        shutil.chown(d / "data", "postfix")
        key = d / "dkim" / f"{selector}.private"
        key.write_text(private_pem)
        key.chmod(0o600)
        (d / "dkim" / "opendkim.conf").write_text(
            OPENDKIM_CONF.format(
                dir=d, domain=domain, selector=selector, sign_headers=",".join(sign_headers)
            )
        )
        port = free_port()
        (d / "main.cf").write_text(
            MAIN_CF.format(dir=d, domain=domain, relay_host=relay[0], relay_port=relay[1])
        )
        (d / "master.cf").write_text(MASTER_CF.format(port=port))
        dkim = Daemon(d)
        dkim.spawn([opendkim, "-f", "-x", str(d / "dkim" / "opendkim.conf")], "opendkim")
        assert dkim.proc is not None and dkim.log_path is not None
        socket_path = d / "dkim" / "opendkim.sock"
        try:
            wait_until(socket_path.exists, dkim.proc, dkim.log_path, "opendkim")
        except RuntimeError:
            dkim.stop()
            raise
        # `postfix check` creates the queue's subdirectories with the right owners.
        # With no syslog here it fails silently unless Postfix logs to stdout (pitfall 1).
        checked = subprocess.run(
            [postfix, "-c", str(d), "check"], capture_output=True, text=True, check=False
        )
        if checked.returncode != 0:
            dkim.stop()
            raise RuntimeError(f"postfix check failed: {checked.stdout}{checked.stderr}")
        mta = Daemon(d)
        mta.spawn([master, "-c", str(d), "-d"], "postfix")  # -d: stay in the foreground
        assert mta.proc is not None and mta.log_path is not None
        try:
            wait_until(lambda: banner(port, b"220"), mta.proc, mta.log_path, "postfix")
        except RuntimeError:
            mta.stop(remove=False)
            dkim.stop()
            raise
        return SigningMta(LOOPBACK, port, domain, selector, mta, dkim)

    return start_with_retry(start)  # type: ignore[no-any-return]


def dkim_selector_txt(public_b64: str) -> list[str]:
    """The TXT record of a DKIM key as 255-character strings (a single long one is refused)."""
    value = f"v=DKIM1; k=rsa; p={public_b64}"
    return [value[i : i + 255] for i in range(0, len(value), 255)]


__all__ = ["SigningMta", "dkim_selector_txt", "start_signing_mta"]
