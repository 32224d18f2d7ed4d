"""The JSON schema: valid draft 2020-12, accepts the example documents, rejects bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from penguinctl.spec import json_schema
from tests.spec.conftest import VALID

ROOT = Path(__file__).resolve().parents[2]


def example_documents() -> list[dict]:
    docs = list(yaml.safe_load_all(VALID))
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def test_schema_structure_covers_every_kind() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    refs = [branch["$ref"] for branch in schema["oneOf"]]
    assert refs == [
        "#/$defs/TenantDocument",
        "#/$defs/ServerDocument",
        "#/$defs/MailDomainDocument",
        "#/$defs/IpPoolDocument",
        "#/$defs/CampaignDocument",  # declared by penguinctl.campaigns.spec
    ]
    server = schema["$defs"]["ServerDocument"]
    assert server["properties"]["kind"]["const"] == "Server"
    assert server["properties"]["apiVersion"]["const"] == "penguinctl/v1"
    assert server["additionalProperties"] is False
    assert set(server["required"]) == {"apiVersion", "kind", "metadata", "spec"}
    # the Tenant's spec is optional (every field has a default)
    assert "spec" not in schema["$defs"]["TenantDocument"]["required"]
    spec = schema["$defs"]["ServerSpec"]
    assert {"mailHost", "sshKeys", "extraIps"} <= set(spec["properties"])  # camelCase
    assert set(spec["required"]) == {"tenant", "mailHost"}
    assert schema["$defs"]["MailDomainSpec"]["properties"]["domain"]["format"] == "idn-hostname"


def test_schema_validates_example_documents() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    docs = example_documents()
    assert len(docs) >= 3
    for doc in docs:
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], (doc["kind"], doc["metadata"]["name"], errors)


@pytest.mark.parametrize(
    "doc",
    [
        {"apiVersion": "penguinctl/v1", "kind": "Nope", "metadata": {"name": "a"}},
        {"apiVersion": "penguinctl/v2", "kind": "Tenant", "metadata": {"name": "a"}},
        {"apiVersion": "penguinctl/v1", "kind": "Tenant", "metadata": {"name": "A_B"}},
        {"apiVersion": "penguinctl/v1", "kind": "Tenant", "metadata": {"name": "a"}, "x": 1},
        {"apiVersion": "penguinctl/v1", "kind": "Server", "metadata": {"name": "a"}, "spec": {}},
        {
            "apiVersion": "penguinctl/v1",
            "kind": "MailDomain",
            "metadata": {"name": "a"},
            "spec": {
                "tenant": "t",
                "domain": "a.example",
                "server": "s",
                "mailboxes": [{"name": "x", "password": "literal-secret"}],
            },
        },
    ],
    ids=["kind", "api-version", "name", "extra", "required", "credential"],
)
def test_schema_rejects_invalid_documents(doc: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    assert not jsonschema.Draft202012Validator(json_schema()).is_valid(doc)
