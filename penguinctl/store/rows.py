"""Read-only rows handed out by the store: frozen dataclasses, detached from sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from penguinctl.core.resource import Recorded
from penguinctl.store.tables import ChangeTable, ResourceTable, RunTable


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


def recorded_from(row: ResourceTable) -> Recorded:
    return Recorded(
        key=row.key,
        provider=row.provider,
        tenant=row.tenant,
        id=row.vendor_id,
        attrs=dict(row.attrs),
        outputs=dict(row.outputs),
        instance=row.instance,
        status=row.status,
    )


def run_row(row: RunTable) -> RunRow:
    assert row.id is not None
    return RunRow(
        id=row.id,
        command=row.command,
        started_at=row.started_at,
        finished_at=row.finished_at,
        user=row.user,
        workspace=row.workspace,
        profile=row.profile,
        status=row.status,
        summary=dict(row.summary),
    )


def change_row(row: ChangeTable) -> ChangeRow:
    assert row.id is not None
    return ChangeRow(
        id=row.id,
        run_id=row.run_id,
        tenant=row.tenant,
        key=row.key,
        action=row.action,
        status=row.status,
        before=row.before,
        after=row.after,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
