"""The skip/fail policy: a missing server skips locally but fails under CI=true."""

from __future__ import annotations

import pytest

from tests.daemons import DaemonUnavailable
from tests.daemons.base import find_binary
from tests.servers import unavailable


def test_missing_server_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no such daemon"):
        unavailable("no such daemon")


def test_missing_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        unavailable("no such daemon")


def test_find_binary_names_what_is_missing() -> None:
    with pytest.raises(DaemonUnavailable, match="penguin-no-such-daemon is not installed"):
        find_binary("penguin-no-such-daemon")
