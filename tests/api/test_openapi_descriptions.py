"""/openapi.json is self-describing: every field of the config's non-expression models and of
the API's request/response bodies carries a description (expression and lookup models are
checked with the expression reference)."""

from __future__ import annotations

from fastapi.testclient import TestClient

DESCRIBED = (
    "PipelineConfig", "SourceContainer", "ColumnSchema", "CsvOptions", "Assertions", "Mapping",
    "MappingColumn", "PartitionBy", "AnalyticTable", "RunRequest", "RunResponse", "ProblemOut",
    "ValidateOk", "ValidateFailed", "ErrorEnvelope", "PreviewRequest", "PreviewResponse",
    "MappingPreviewOut", "InferResponse", "InferredColumn", "TablesResponse", "TableOut",
    "PartitionOut",
)  # fmt: skip


def test_every_field_has_a_description(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    undescribed = [
        f"{model}.{name}"
        for model in DESCRIBED
        for name, field in schemas[model].get("properties", {}).items()
        if "description" not in field
    ]
    assert undescribed == []
    models = [m for m in DESCRIBED if "description" not in schemas[m]]
    assert models == []


def test_config_fields_carry_examples(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model, field in [
        ("SourceContainer", "path_prefix"),
        ("CsvOptions", "delimiter"),
        ("AnalyticTable", "partition_keys"),
        ("Mapping", "where"),
        ("PartitionBy", "granularity"),
    ]:
        assert schemas[model]["properties"][field].get("examples"), f"{model}.{field}"
