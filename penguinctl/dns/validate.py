"""Validation-time DNS checks of MailDomain specs (run by ``validate`` and ``plan``).

* SPF within RFC 7208 §4.6.4: without DNS, every ``include`` counts one lookup (so more
  than 9 beside the server's ``ip4:`` terms is refused outright); when a resolver is
  available the includes are resolved and counted recursively, with void lookups and
  include loops, and the refusal names the count and the path of lookups.
* TXT strings of extra records written in quoted form may not exceed 255 bytes each.

The resolver is injectable: :func:`use_resolver` (tests, benchmarks), else the
``PENGUIN_SPF_RESOLVER`` environment variable (``HOST:PORT`` or ``system``); without
either, no DNS is asked at validation time.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from penguinctl.core.errors import Issue
from penguinctl.dns import spf as spf_mod
from penguinctl.dns.query import Querier, Query, parse_address

QueryFactory = Callable[[], Query]
_factory: QueryFactory | None = None
PLACEHOLDER_IP = "192.0.2.1"  # TEST-NET-1: stands for the server's addresses
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@contextmanager
def use_resolver(factory: QueryFactory | None) -> Iterator[None]:
    """Resolve SPF includes through ``factory()`` within the block (None: no DNS)."""
    global _factory
    before, _factory = _factory, factory
    try:
        yield
    finally:
        _factory = before


def _query() -> Query | None:
    if _factory is not None:
        return _factory()
    where = os.environ.get("PENGUIN_SPF_RESOLVER", "").strip()
    if not where:
        return None
    return Querier(None if where == "system" else [parse_address(where)], timeout=2.0)


def spf_for(spec: Any) -> str:
    includes = "".join(f" include:{inc}" for inc in spec.spf.include)
    return f"v=spf1 ip4:{PLACEHOLDER_IP}{includes} {spec.spf.policy}"


def check_dns(specs: Any) -> Iterator[Issue]:
    docs = list(specs.mail_domains.values())
    yield from _static(docs)
    query = _query()
    if query is None:
        return
    pending = [d for d in docs if d.spec.spf.include]
    if not pending:
        return

    async def run_all() -> list[spf_mod.SpfResult]:
        return list(
            await asyncio.gather(
                *(spf_mod.evaluate(d.spec.domain, query, spf_for(d.spec)) for d in pending)
            )
        )

    for doc, result in zip(pending, asyncio.run(run_all()), strict=True):
        yield from _spf_issues(doc, result)


def _static(docs: list[Any]) -> Iterator[Issue]:
    for doc in docs:
        spec = doc.spec
        if len(spec.spf.include) > spf_mod.MAX_LOOKUPS:
            yield doc.issue(
                "spec.spf.include",
                f"SPF needs at least {len(spec.spf.include)} DNS lookups "
                f"(RFC 7208 §4.6.4 allows {spf_mod.MAX_LOOKUPS}): "
                + " → ".join(f"include:{i}" for i in spec.spf.include),
                hint="drop includes, or replace them by the ip4:/ip6: networks they authorise",
            )
        for index, extra in enumerate(spec.extra_records):
            if extra.type != "TXT":
                continue
            long = [c for c in _QUOTED.findall(extra.content) if len(c.encode()) > 255]
            if long:
                yield doc.issue(
                    f"spec.extraRecords[{index}].content",
                    f"a quoted TXT string of {len(long[0].encode())} bytes (255 at most, "
                    "RFC 1035 §3.3)",
                    hint="write the text unquoted: penguinctl splits it at 255 bytes itself",
                )


def _spf_issues(doc: Any, result: spf_mod.SpfResult) -> Iterator[Issue]:
    for problem in result.problems:
        if problem.status != "error":
            continue
        yield doc.issue(
            "spec.spf.include",
            f"SPF of {doc.spec.domain}: {problem.message} ({problem.rule}, {problem.code})",
            hint="fix or drop the include; `penguinctl dns check` shows the live record",
        )
    for timeout in result.timeouts:
        yield doc.issue(
            "spec.spf.include",
            f"SPF of {doc.spec.domain}: an include could not be resolved ({timeout})",
            hint="check the resolver (PENGUIN_SPF_RESOLVER) or retry",
        )
