"""A corpus of valid and broken SPF and DMARC records, served by a real PowerDNS.

``SPF`` maps a name (relative to the corpus zone) to its TXT values; ``EXPECTED_SPF``
gives our verdict for the names checked (valid?, lookups, the problem code if any);
``DMARC`` and ``EXPECTED_DMARC`` likewise for ``_dmarc.<name>``.
"""

from __future__ import annotations

from typing import Any

from tests.daemons.pdns import PowerDNSServer

INCLUDES = {f"inc{i}": [f"v=spf1 ip4:198.51.100.{i} -all"] for i in range(1, 12)}
SPF: dict[str, list[str]] = {
    **INCLUDES,
    "ok": ["v=spf1 ip4:192.0.2.1 -all"],
    "ten": ["v=spf1 " + " ".join(f"include:inc{i}.{{z}}" for i in range(1, 11)) + " -all"],
    "eleven": ["v=spf1 " + " ".join(f"include:inc{i}.{{z}}" for i in range(1, 12)) + " -all"],
    "loop-a": ["v=spf1 include:loop-b.{z} -all"],
    "loop-b": ["v=spf1 include:loop-a.{z} -all"],
    "void2": ["v=spf1 a:nx1.{z} a:nx2.{z} ip4:192.0.2.1 -all"],
    "void3": ["v=spf1 a:nx1.{z} a:nx2.{z} a:nx3.{z} ip4:192.0.2.1 -all"],
    "badip": ["v=spf1 ip4:999.1.1.1 -all"],
    "two": ["v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.2 -all"],
    "badmech": ["v=spf1 ip4:192.0.2.1 foo:bar -all"],
    "nowhere": ["v=spf1 include:missing.{z} -all"],
    "redirect": ["v=spf1 redirect=ok.{z}"],
    "nested": ["v=spf1 include:ten.{z} include:inc11.{z} -all"],
    "mx": ["v=spf1 mx a -all"],
}
EXPECTED_SPF: dict[str, tuple[bool, int, str | None]] = {
    "ok": (True, 0, None),
    "ten": (True, 10, None),
    "eleven": (False, 11, "SPF003"),
    "loop-a": (False, 2, "SPF005"),
    "void2": (True, 2, None),
    "void3": (False, 3, "SPF004"),
    "badip": (False, 0, "SPF002"),
    "two": (False, 0, "SPF001"),
    "badmech": (False, 0, "SPF002"),
    "nowhere": (False, 1, "SPF006"),
    "redirect": (True, 1, None),
    "nested": (False, 12, "SPF003"),
    "mx": (True, 2, None),
}
DMARC: dict[str, list[str]] = {
    "ok": ["v=DMARC1; p=reject; rua=mailto:dmarc@{z}"],
    "badp": ["v=DMARC1; p=maybe"],
    "nop": ["v=DMARC1; rua=mailto:dmarc@{z}"],
    "badrua": ["v=DMARC1; p=none; rua=mailto:not-an-address"],
    "notfirst": ["p=none; v=DMARC1"],
    "quarantine": ["v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=s"],
    "badadkim": ["v=DMARC1; p=none; adkim=x"],
}
EXPECTED_DMARC: dict[str, tuple[bool, str | None]] = {
    "ok": (True, None),
    "badp": (False, "DMARC002"),
    "nop": (False, "DMARC002"),
    "badrua": (False, "DMARC004"),
    "notfirst": (False, "DMARC002"),
    "quarantine": (True, None),
    "badadkim": (False, "DMARC002"),
}


def quoted(text: str) -> str:
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + c.replace('"', '\\"') + '"' for c in chunks)


def seed(server: PowerDNSServer, zone: str) -> None:
    """Create ``zone`` holding the corpus (MX and A for ``mx``/``ok``)."""
    server.create_zone(zone)
    rrsets: list[dict[str, Any]] = []

    def add(name: str, rtype: str, values: list[str]) -> None:
        rrsets.append(
            {
                "name": f"{name}.{zone}." if name != "@" else f"{zone}.",
                "type": rtype,
                "ttl": 300,
                "changetype": "REPLACE",
                "records": [{"content": v, "disabled": False} for v in values],
            }
        )

    for name, values in SPF.items():
        add(name, "TXT", [quoted(v.replace("{z}", zone)) for v in values])
    for name, values in DMARC.items():
        add(f"_dmarc.{name}", "TXT", [quoted(v.replace("{z}", zone)) for v in values])
    add("mx", "MX", [f"10 mx.mx.{zone}."])
    add("mx.mx", "A", ["192.0.2.25"])
    add("mx", "A", ["192.0.2.26"])
    with server.api() as api:
        r = api.patch(f"/servers/localhost/zones/{zone}.", json={"rrsets": rrsets})
    assert r.status_code == 204, r.text
