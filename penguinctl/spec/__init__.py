"""Specs: YAML documents (``apiVersion: penguinctl/v1``) loaded into validated models.

Public API (what the engine and the CLI call)::

    load(sources, *, stdin=None) -> SpecSet      # raises ValidationFailed with all issues
    json_schema() -> dict                        # draft 2020-12, oneOf every kind
    Document, SpecSet                            # the loaded documents
    register_kind(name, model, check=...)        # for areas adding a kind (see kinds.py)
"""

from __future__ import annotations

from penguinctl.spec.document import Document, SpecSet
from penguinctl.spec.kinds import API_VERSION, register_kind
from penguinctl.spec.loader import load
from penguinctl.spec.schema import json_schema

__all__ = ["API_VERSION", "Document", "SpecSet", "json_schema", "load", "register_kind"]
