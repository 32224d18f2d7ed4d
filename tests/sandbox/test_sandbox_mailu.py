"""The MailU channel emulator, over the real loopback HTTP router."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from penguinctl.sandbox.http import serving
from penguinctl.sandbox.mailu import MailuEmulator

HASH = "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2"
CLEAR = "correct horse battery staple"


@pytest.fixture
def mailu() -> MailuEmulator:
    return MailuEmulator()


@pytest.fixture
def client(mailu: MailuEmulator) -> Iterator[httpx.Client]:
    changes: list[str] = []
    with (
        serving({"mailu": mailu}, on_change=lambda e: changes.append(e.name)) as server,
        httpx.Client(base_url=f"{server.base_url}/mailu/servers/mx1", timeout=5) as http,
    ):
        http.changes = changes  # type: ignore[attr-defined]
        yield http


def seed(client: httpx.Client) -> httpx.Response:
    body = {
        "domain": [{"name": "example.com", "max_users": 10}],
        "user": [
            {"email": "Ann@example.com", "password": "{BLF-CRYPT}" + HASH, "quota_bytes": 5000},
            {"email": "bob@example.com", "password": HASH, "displayed_name": "Bob"},
        ],
    }
    return client.post("/import", params={"update": "1"}, json=body)


def test_empty_server_exports_empty_sections(client: httpx.Client) -> None:
    assert client.get("/config").json() == {"domain": [], "user": []}


def test_import_then_export_in_config_export_shape(
    client: httpx.Client, mailu: MailuEmulator
) -> None:
    reply = seed(client)
    assert reply.status_code == 200
    assert reply.json()["message"] == "Created: domain(1) user(2)"
    assert client.changes == ["mailu"]  # type: ignore[attr-defined]
    exported = client.get("/config").json()
    assert exported == {
        "domain": [{"name": "example.com", "max_users": 10}],
        "user": [
            {"email": "ann@example.com", "password": HASH, "quota_bytes": 5000},
            {"email": "bob@example.com", "displayed_name": "Bob", "password": HASH},
        ],
    }
    full = client.get("/config", params={"full": "1"}).json()
    assert full["user"][0]["enabled"] is True and full["domain"][0]["max_aliases"] == -1
    assert mailu.unexpected == []


def test_update_merges_and_a_repeat_changes_nothing(client: httpx.Client) -> None:
    seed(client)
    patch = {"user": [{"email": "bob@example.com", "enabled": False}]}
    reply = client.post("/import", params={"update": "1"}, json=patch)
    assert reply.json() == {"changes": {"Modified": {"user": 1}}, "message": "Modified: user(1)"}
    again = client.post("/import", params={"update": "1"}, json=patch)
    assert again.json()["message"] == "No changes."
    bob = client.get("/config").json()["user"][1]
    assert bob["enabled"] is False and bob["password"] == HASH and bob["displayed_name"] == "Bob"
    lists = {"domain": [{"name": "example.com", "alternatives": ["a.test", "b.test"]}]}
    client.post("/import", params={"update": "1"}, json=lists)
    more = {"domain": [{"name": "example.com", "alternatives": ["c.test", "-a.test"]}]}
    client.post("/import", params={"update": "1"}, json=more)
    assert client.get("/config").json()["domain"][0]["alternatives"] == ["b.test", "c.test"]


def test_delete_notation_cascades_users(client: httpx.Client) -> None:
    seed(client)
    reply = client.post(
        "/import", params={"update": "1"}, json={"domain": [{"-name": "example.com"}]}
    )
    assert reply.json()["changes"] == {"Deleted": {"domain": 1, "user": 2}}
    assert client.get("/config").json() == {"domain": [], "user": []}


def test_import_without_update_is_refused_and_recorded(
    client: httpx.Client, mailu: MailuEmulator
) -> None:
    reply = client.post("/import", json={"domain": [{"name": "example.com"}]})
    assert reply.status_code == 400
    assert mailu.unexpected and "without update=1" in mailu.unexpected[0]
    assert client.get("/config").json()["domain"] == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"user": [{"email": "x@example.com", "password": CLEAR}]}, "invalid password hash"),
        (
            {"user": [{"email": "x@example.com", "password": CLEAR, "hash_password": True}]},
            "hashes only",
        ),
        ({"user": [{"email": "x@nowhere.test", "password": HASH}]}, "does not exist"),
        ({"user": [{"email": "x@example.com"}]}, "password: Missing data"),
        ({"domain": [{"name": "example.com", "colour": "red"}]}, "Unknown field(s): colour"),
        ({"domain": [{"name": "example.com", "max_users": "ten"}]}, "invalid value type"),
        ({"alias": []}, "unsupported sections: alias"),
        ({"domain": [{"-name": "gone.test"}]}, "Item to delete not found"),
    ],
)
def test_invalid_imports_are_400_and_change_nothing(
    client: httpx.Client, mailu: MailuEmulator, body: dict[str, object], error: str
) -> None:
    seed(client)
    before = json.dumps(mailu.state, sort_keys=True)
    # A valid item first: the import is all or nothing.
    body = {"domain": [{"name": "other.test"}], **body} if "domain" not in body else body
    reply = client.post("/import", params={"update": "1"}, json=body)
    assert reply.status_code == 400
    assert error in reply.json()["error"]
    assert CLEAR not in reply.text
    assert json.dumps(mailu.state, sort_keys=True) == before
    assert CLEAR not in before


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_dkim_key_stored_and_read_back(client: httpx.Client, mailu: MailuEmulator) -> None:
    assert client.get("/dkim/example.com/dkim").status_code == 404
    pem = _pem()
    reply = client.put("/dkim/example.com/dkim", content=pem)
    assert reply.json() == {"path": "/dkim/example.com.dkim.key"}
    assert client.get("/dkim/example.com/dkim").text == pem
    assert mailu.dkim_key("mx1", "example.com", "dkim") == pem
    bad = client.put("/dkim/example.com/dkim", content="-----BEGIN PRIVATE KEY-----\nxx\n")
    assert bad.status_code == 400
    assert mailu.dkim_key("mx1", "example.com", "dkim") == pem
    assert mailu.unexpected == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/users"), ("DELETE", "/config"), ("POST", "/dkim/example.com/dkim"), ("GET", "/")],
)
def test_anything_else_is_404_and_recorded(
    client: httpx.Client, mailu: MailuEmulator, method: str, path: str
) -> None:
    reply = client.request(method, path)
    assert reply.status_code == 404
    assert len(mailu.unexpected) == 1 and method in mailu.unexpected[0]


def test_state_is_json_and_round_trips(mailu: MailuEmulator, tmp_path: Path) -> None:
    mailu.state["servers"]["mx2"] = {"domain": {}, "user": {}, "dkim": {}}
    path = tmp_path / "mailu.json"
    path.write_text(json.dumps(mailu.state))
    assert MailuEmulator(json.loads(path.read_text())).export("mx2") == {"domain": [], "user": []}
