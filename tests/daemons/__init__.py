"""Real daemons on loopback for tests (sshd, PowerDNS); see :mod:`tests.daemons.base`."""

from tests.daemons.base import Daemon, DaemonUnavailable, free_port
from tests.daemons.pdns import PowerDNSServer, start_pdns
from tests.daemons.sshd import RunResult, SshdServer, start_sshd

__all__ = [
    "Daemon",
    "DaemonUnavailable",
    "PowerDNSServer",
    "RunResult",
    "SshdServer",
    "free_port",
    "start_pdns",
    "start_sshd",
]
