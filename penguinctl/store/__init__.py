"""The store: SQLModel tables on SQLite or PostgreSQL, Alembic migrations, encrypted secrets.

Public API (imported lazily, so ``from penguinctl.store import SecretBox`` does not
load SQLAlchemy)::

    open_store(url, *, secret_key=None, auto_migrate=True, backup_dir=None) -> Store
    Store       resources, runs + journal, secrets, tenants, workspace lock
    SecretBox   AES-256-GCM with key ids (penguinctl.store.crypto)
    load_secret_box(key_source, *, create=True) -> SecretBox
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from penguinctl.store.crypto import SecretBox, load_secret_box
    from penguinctl.store.rows import ChangeRow, RunRow
    from penguinctl.store.store import Store, open_store

__all__ = ["ChangeRow", "RunRow", "SecretBox", "Store", "load_secret_box", "open_store"]

_WHERE = {
    "open_store": "penguinctl.store.store",
    "Store": "penguinctl.store.store",
    "SecretBox": "penguinctl.store.crypto",
    "load_secret_box": "penguinctl.store.crypto",
    "ChangeRow": "penguinctl.store.rows",
    "RunRow": "penguinctl.store.rows",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'penguinctl.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
