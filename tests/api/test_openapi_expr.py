"""The expression union is published once, as the named schema `Expr`, and every expression
field documents itself (issue 11: the schema had the union inlined 17 times, undescribed)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from karet_worker.config.model import (
    EXPRESSION_KINDS,
    EXPRESSION_MODELS,
    CaseBranch,
    CatchAll,
    Dimension,
    DimensionRow,
    FileDimensionRows,
    InlineDimensionRows,
    LookupMapping,
    LookupRow,
    OnMissLiteral,
)

DESCRIBED = (
    *EXPRESSION_MODELS,
    CaseBranch,
    LookupMapping,
    LookupRow,
    CatchAll,
    Dimension,
    DimensionRow,
    InlineDimensionRows,
    FileDimensionRows,
    OnMissLiteral,
)


def test_expr_is_one_named_schema_referenced_everywhere(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    expr = schemas["Expr"]
    assert set(expr["discriminator"]["mapping"]) == set(EXPRESSION_KINDS)
    assert len(expr["oneOf"]) == len(EXPRESSION_MODELS)
    others = {name: schema for name, schema in schemas.items() if name != "Expr"}
    assert '"discriminator"' not in json.dumps(others)  # no inlined copy of the union
    refs = json.dumps(others).count('"#/components/schemas/Expr"')
    assert refs >= 10


def test_every_expression_lookup_and_dimension_field_has_a_description(
    client: TestClient,
) -> None:
    schemas: dict[str, Any] = client.get("/openapi.json").json()["components"]["schemas"]
    for model in DESCRIBED:
        schema = schemas[model.__name__]
        assert schema.get("description"), model.__name__
        for name, prop in schema["properties"].items():
            if name != "kind":
                assert prop.get("description"), f"{model.__name__}.{name}"
