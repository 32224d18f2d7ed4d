"""The JSON Schema (draft 2020-12) of spec documents, for editors and CI linters."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from penguinctl.spec import kinds

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """One schema for any document: ``oneOf`` the registered kinds, chosen by ``kind``."""
    envelopes = tuple(kind.envelope for kind in kinds.all_kinds())
    target: Any = envelopes[0]
    if len(envelopes) > 1:
        target = Annotated[Union[envelopes], Field(discriminator="kind")]  # noqa: UP007
    schema = TypeAdapter(target).json_schema(by_alias=True, ref_template="#/$defs/{model}")
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "penguinctl spec document",
        "description": f"apiVersion {kinds.API_VERSION}; kinds: {', '.join(kinds.names())}",
        **schema,
    }
