"""``python -m penguinctl.store.migrations new "<area> <what>"``: write the next revision.

Upgrades a scratch SQLite database to head, compares it with every area's
models (:func:`load_metadata`) and writes ``versions/NNNN_<slug>.py`` with the
next number; read and tidy the result before committing it.
"""

from __future__ import annotations

import sys
import tempfile

from alembic import command
from sqlalchemy.engine import make_url

from penguinctl.store import db, migrate


def new_revision(message: str) -> str:
    """Autogenerate the next revision; returns its id."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = db.create_engine(make_url(f"sqlite:///{scratch}/scratch.db"))
        try:
            migrate.upgrade(engine, backup_dir=None)
            number = max(int(r.revision) for r in migrate.script().walk_revisions()) + 1
            rev_id = f"{number:04d}"
            cfg = migrate.alembic_config()
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        finally:
            engine.dispose()
            migrate.script.cache_clear()
    return rev_id


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "new":
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    print(f"wrote revision {new_revision(argv[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
