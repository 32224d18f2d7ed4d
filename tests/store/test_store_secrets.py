"""Generated secrets: encrypted at rest, readable only with the right key, never destroyed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from penguinctl.core.errors import SecretKeyError
from penguinctl.store import SecretBox, Store, open_store
from penguinctl.store.types import EncryptedText

PASSWORD = "plaintext-mailbox-password-7f3a"


def raw_rows(url: str) -> list[tuple[str, bytes, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, ciphertext, key_id FROM secrets ORDER BY id")
        found = [(r[0], bytes(r[1]), r[2]) for r in rows]
    engine.dispose()
    return found


def test_round_trip_and_replace(store: Store) -> None:
    assert store.get_secret("acme", "mailbox/acme/bob", "password") is None
    store.put_secret("acme", "mailbox/acme/bob", "password", PASSWORD)
    store.put_secret("acme", "mailbox/acme/bob", "dkim", "-----BEGIN PRIVATE KEY-----\n…")
    assert store.get_secret("acme", "mailbox/acme/bob", "password") == PASSWORD
    store.put_secret("acme", "mailbox/acme/bob", "password", "new-one")
    assert store.get_secret("acme", "mailbox/acme/bob", "password") == "new-one"
    assert store.get_secret("globex", "mailbox/acme/bob", "password") is None


def test_ciphertext_does_not_contain_the_plaintext(store: Store, store_url: str) -> None:
    store.put_secret("acme", "mailbox/acme/bob", "password", PASSWORD)
    store.close()
    [(name, ciphertext, key_id)] = raw_rows(store_url)
    assert name == "password" and key_id == store.secret_box.primary_id  # type: ignore[union-attr]
    assert PASSWORD.encode() not in ciphertext
    if store_url.startswith("sqlite"):  # not in the file, nor its write-ahead log
        folder = Path(store_url.removeprefix("sqlite:///")).parent
        for path in folder.iterdir():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_wrong_key_raises_and_destroys_nothing(store: Store, store_url: str) -> None:
    store.put_secret("acme", "mailbox/acme/bob", "password", PASSWORD)
    expected = store.secret_box.primary_id  # type: ignore[union-attr]
    before = raw_rows(store_url)
    with open_store(store_url, secret_key=SecretBox([os.urandom(32)])) as wrong:
        with pytest.raises(SecretKeyError) as info:
            wrong.get_secret("acme", "mailbox/acme/bob", "password")
        assert expected in (info.value.hint or "")
        with pytest.raises(SecretKeyError, match=expected):
            wrong.check_secret_key()
        with pytest.raises(SecretKeyError, match=expected):  # no mixed generations of keys
            wrong.put_secret("acme", "mailbox/acme/eve", "password", "x")
    with open_store(store_url) as keyless:
        with pytest.raises(SecretKeyError, match="no secret key is configured") as info:
            keyless.get_secret("acme", "mailbox/acme/bob", "password")
        assert expected in (info.value.hint or "")
    assert raw_rows(store_url) == before
    assert store.get_secret("acme", "mailbox/acme/bob", "password") == PASSWORD


def test_without_any_key_writing_is_refused(store_url: str) -> None:
    with open_store(store_url) as keyless:
        with pytest.raises(SecretKeyError, match="no secret key"):
            keyless.put_secret("acme", "o", "n", "v")
        keyless.check_secret_key()  # nothing stored: nothing to check


def test_rotation(store_url: str) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    with open_store(store_url, secret_key=SecretBox([old_key])) as s:
        s.put_secret("acme", "dkim/acme.com", "private_key", "old-secret")
    rotated = SecretBox([new_key, old_key])  # the new key first, the old one kept
    with open_store(store_url, secret_key=rotated) as s:
        assert s.get_secret("acme", "dkim/acme.com", "private_key") == "old-secret"
        s.put_secret("acme", "dkim/acme.com", "private_key", "rotated-secret")
        assert s.secret_key_ids() == [rotated.primary_id]
    with open_store(store_url, secret_key=SecretBox([new_key])) as s:  # old key retired
        assert s.get_secret("acme", "dkim/acme.com", "private_key") == "rotated-secret"
    with (
        open_store(store_url, secret_key=SecretBox([old_key])) as s,
        pytest.raises(SecretKeyError, match=rotated.primary_id),
    ):
        s.get_secret("acme", "dkim/acme.com", "private_key")


def test_drop_secrets(store: Store) -> None:
    store.put_secret("acme", "mailbox/acme/bob", "password", "a")
    store.put_secret("acme", "mailbox/acme/bob", "app", "b")
    store.put_secret("acme", "mailbox/acme/eve", "password", "c")
    store.drop_secrets("mailbox/acme/bob")
    assert store.get_secret("acme", "mailbox/acme/bob", "password") is None
    assert store.get_secret("acme", "mailbox/acme/eve", "password") == "c"


def test_encrypted_column_type(store_url: str, box: SecretBox) -> None:
    """An area's own table can hold a secret column (its own metadata here)."""
    metadata = sa.MetaData()
    table = sa.Table(
        "area_things",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", EncryptedText(lambda: box)),
    )
    open_store(store_url).close()  # creates the folder / schema
    engine = sa.create_engine(store_url)
    metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(sa.insert(table).values(id=1, token=PASSWORD))
        session.commit()
        assert session.execute(sa.select(table.c.token)).scalar_one() == PASSWORD
    with engine.connect() as conn:
        raw = bytes(conn.exec_driver_sql("SELECT token FROM area_things").scalar_one())
    assert raw.startswith(box.primary_id.encode() + b":") and PASSWORD.encode() not in raw
    other = sa.Table(
        "area_things",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", EncryptedText(lambda: SecretBox([os.urandom(32)]))),
    )
    with engine.connect() as conn, pytest.raises(SecretKeyError, match=box.primary_id):
        conn.execute(sa.select(other.c.token)).scalar_one()
    engine.dispose()


def test_rekey_moves_every_secret_to_the_primary(store_url: str) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    with open_store(store_url, secret_key=SecretBox([old_key])) as s:
        for n in range(3):
            s.put_secret("acme", f"mailbox/acme/u{n}", "password", f"pw{n}")
    rotated = SecretBox([new_key, old_key])
    with open_store(store_url, secret_key=rotated) as s:
        assert s.rekey() == 3 and s.rekey() == 0
        assert s.secret_key_ids() == [rotated.primary_id]
    with open_store(store_url, secret_key=SecretBox([new_key])) as s:
        assert [s.get_secret("acme", f"mailbox/acme/u{n}", "password") for n in range(3)] == [
            "pw0",
            "pw1",
            "pw2",
        ]
