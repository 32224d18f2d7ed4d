"""Read-only rows handed out by the store: frozen dataclasses, detached from sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RunRow:
    """One penguinctl run (``status``: running | ok | failed | interrupted)."""

    id: int
    command: str
    started_at: datetime
    finished_at: datetime | None
    user: str
    workspace: str
    profile: str | None
    status: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class ChangeRow:
    """One journal entry (``status``: pending | applied | failed | settled | skipped)."""

    id: int
    run_id: int
    tenant: str
    key: str
    action: str
    status: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
