"""Alembic revisions of the store, one linear history (see :mod:`penguinctl.store.migrations`)."""
