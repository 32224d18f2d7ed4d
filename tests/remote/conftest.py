"""Fixtures for the remote tests: a store (SQLite) for pins, and Targets for the sshd fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from penguinctl.remote.connection import Target
from penguinctl.store import Store, open_store
from tests.daemons.sshd import SshdServer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path}/penguin.db")
    yield s
    s.close()


def target_of(server: SshdServer, **kw: object) -> Target:
    base: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "key_filename": str(server.client_key),
        "connect_timeout": 5.0,
        "retries": 1,
    }
    base.update(kw)
    return Target(**base)  # type: ignore[arg-type]
