"""SecretBox and key loading: AES-256-GCM, key ids, rotation, never destroying a key."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest

from penguinctl.core.errors import SecretKeyError
from penguinctl.store.crypto import SecretBox, key_id_of, load_secret_box


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PENGUIN_SECRET_KEY", raising=False)
    monkeypatch.delenv("PENGUIN_SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_round_trip_with_fresh_nonce_and_no_plaintext() -> None:
    key = os.urandom(32)
    box = SecretBox([key])
    first, key_id = box.encrypt("correct horse battery staple")
    second, _ = box.encrypt("correct horse battery staple")
    assert key_id == hashlib.sha256(key).hexdigest()[:12] == box.primary_id
    assert first != second  # random nonce
    assert b"horse" not in first and b"horse" not in second
    assert box.decrypt(first, key_id) == "correct horse battery staple"
    assert key.hex() not in repr(box) and b64(key) not in repr(box)


def test_rotation_reads_old_writes_new() -> None:
    old, new = os.urandom(32), os.urandom(32)
    sealed, old_id = SecretBox([old]).encrypt("dkim-private")
    rotated = SecretBox([new, old])
    assert rotated.key_ids == [key_id_of(new), old_id]
    assert rotated.decrypt(sealed, old_id) == "dkim-private"
    assert rotated.encrypt("x")[1] == key_id_of(new)


def test_unknown_key_id_names_the_expected_key() -> None:
    sealed, key_id = SecretBox([os.urandom(32)]).encrypt("secret")
    other = SecretBox([os.urandom(32)])
    with pytest.raises(SecretKeyError) as info:
        other.decrypt(sealed, key_id)
    assert key_id in info.value.message and key_id in (info.value.hint or "")
    assert "secret" not in (info.value.hint or "").replace("SECRET", "")


def test_tampered_ciphertext_or_key_id_collision_fails_authentication() -> None:
    box = SecretBox([os.urandom(32)])
    sealed, key_id = box.encrypt("secret")
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretKeyError, match="does not decrypt"):
        box.decrypt(flipped, key_id)
    with pytest.raises(SecretKeyError, match="not in a known format"):
        box.decrypt(b"\x02" + sealed[1:], key_id)


@pytest.mark.parametrize("bad", [b"short", b"x" * 33])
def test_key_must_be_32_bytes(bad: bytes) -> None:
    with pytest.raises(SecretKeyError, match="32 bytes"):
        SecretBox([bad])


def test_env_key_wins_and_accepts_several(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = os.urandom(32), os.urandom(32)
    monkeypatch.setenv("PENGUIN_SECRET_KEY", f"{b64(a)},{b64(b)}")
    monkeypatch.setenv("PENGUIN_SECRET_KEY_FILE", "/nonexistent/never-created")
    box = load_secret_box(None)
    assert box.key_ids == [key_id_of(a), key_id_of(b)]
    assert not Path("/nonexistent/never-created").exists()


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    monkeypatch.setenv("MY_KEY", b64(key))
    assert load_secret_box("env:MY_KEY").primary_id == key_id_of(key)
    with pytest.raises(SecretKeyError, match="MISSING_KEY"):
        load_secret_box("env:MISSING_KEY")
    monkeypatch.setenv("MY_KEY", "not base64!")
    with pytest.raises(SecretKeyError, match="not base64"):
        load_secret_box("env:MY_KEY")
    monkeypatch.setenv("MY_KEY", b64(b"sixteen bytes!!!"))
    with pytest.raises(SecretKeyError, match="16-byte"):
        load_secret_box("env:MY_KEY")


def test_default_file_created_private_then_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "home/.config/penguinctl/secret.key"
    first = load_secret_box(None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert first.primary_id in caplog.text and "back it up" in caplog.text
    content = path.read_text()
    assert load_secret_box(None).primary_id == first.primary_id
    assert path.read_text() == content  # never rewritten


def test_key_file_from_env_and_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "k"
    path.write_text(b64(key) + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("PENGUIN_SECRET_KEY_FILE", str(path))
    assert load_secret_box(None).primary_id == key_id_of(key)
    assert load_secret_box(f"file:{path}").primary_id == key_id_of(key)


def test_missing_file_without_create_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(SecretKeyError, match="does not exist"):
        load_secret_box(f"file:{path}", create=False)
    assert not path.exists()


def test_unreadable_or_bad_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("garbage that is not base64 !!\n")
    with pytest.raises(SecretKeyError, match="not base64"):
        load_secret_box(f"file:{path}")
    assert path.read_text() == "garbage that is not base64 !!\n"


def test_key_file_in_state_dir_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_secret_box(f"file:{tmp_path}/state/secret.key")
    assert "inside a state/ directory" in caplog.text


def test_source_must_be_a_reference() -> None:
    with pytest.raises(SecretKeyError, match="env:NAME or file:PATH"):
        load_secret_box(b64(os.urandom(32)))
