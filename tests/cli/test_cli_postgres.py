"""The same journey with the store on PostgreSQL (PENGUIN_DATABASE_URL): advisory lock, journal, converge."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Cli


@pytest.mark.postgres
def test_apply_and_converge_on_postgres(cli, fresh_postgres_url: str) -> None:
    pg = Cli(cli.root, dict(cli.env, PENGUIN_DATABASE_URL=fresh_postgres_url))
    r = pg("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    assert "39 applied" in r.out
    assert pg("plan", "-f", "examples/", "--detailed-exitcode").code == 0
    assert not (cli.root / "state" / "penguin.db").exists()  # nothing went to SQLite
    runs = json.loads(pg("-o", "json", "history").out)
    assert runs[0]["status"] == "ok"

    # Another process holding the advisory lock blocks an apply with a clear message.
    import base64

    from penguinctl.store import SecretBox, open_store

    key = base64.b64decode(cli.env["PENGUIN_SECRET_KEY"])
    store = open_store(fresh_postgres_url, secret_key=SecretBox([key]))
    try:
        with store.lock("apply (a colleague)"):
            spec = (cli.root / "examples" / "agency.yaml").read_text()
            (cli.root / "examples" / "agency.yaml").write_text(spec.replace("Jane Doe", "Jane Roe"))
            r = pg("apply", "-f", "examples/", "--yes")
    finally:
        store.close()
    assert r.code == 1, r
    assert "locked by" in r.err and "a colleague" in r.err and "Traceback" not in r.err
    assert pg("apply", "-f", "examples/", "--yes").code == 0
