"""This machine's egress IPv4 address, as the local network stack sees it (for ``doctor``).

Hostwinds allow-lists API keys by IPv4 address. Connecting a UDP socket sends nothing: it
only makes the kernel choose the route and source address toward a documentation address
(TEST-NET-1, RFC 5737), which is the primary outbound IPv4 of this machine. Behind NAT the
address Hostwinds sees is the router's public one, which no local call can learn without
asking a service on the internet; ``doctor`` says so.
"""

from __future__ import annotations

import socket

PROBE = ("192.0.2.1", 9)  # RFC 5737 documentation address, discard port: never contacted


def egress_ipv4() -> str | None:
    """The source IPv4 the kernel would use toward the internet, or None (no route)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(PROBE)
            address = str(sock.getsockname()[0])
    except OSError:
        return None
    return None if address == "0.0.0.0" else address
