"""Dimensions and lookups of both Karet eras in one run (SPEC §13): inline `dimensions` with
`dim_ref`, and a `lookup_mappings` node with `match: "prefix"`."""

from __future__ import annotations

from tests.engine.workspace import Workspace, col, make_config


def test_dimensions_and_prefix_lookups_run_side_by_side(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("path", "string"), ("country", "string")],
        table_schema=[("section", "string"), ("country", "string"), ("region", "string")],
        columns={
            "section": {"kind": "lookup_ref", "lookup_id": "sections", "input": col("path")},
            "country": {"kind": "dim_ref", "dim_id": "geo", "input": col("country")},
            "region": {
                "kind": "dim_ref",
                "dim_id": "geo",
                "input": col("country"),
                "value": "region",
            },
        },
        lookups=[
            {
                "id": "sections",
                "match": "prefix",
                "rows": [
                    {"input_patterns": ["/blog/"], "output": "Blog"},
                    {"input_patterns": ["/blog/2024/"], "output": "Blog 2024", "priority": 1},
                ],
                "catch_all": {"output": "Other"},
            }
        ],
    )
    config["dimensions"] = [
        {
            "id": "geo",
            "case_insensitive": True,
            "on_miss": "passthrough",
            "rows": {
                "values": ["country", "region"],
                "rows": [{"patterns": ["ca"], "values": ["Canada", "Americas"]}],
            },
        }
    ]
    ws.config(config)
    ws.put("raw/a.csv", "path,country\n/blog/2024/x,CA\n/blog/old,XK\n/shop/blog/,\n")
    result = ws.run()
    assert result.errors == []
    assert ws.read("t").rows() == [
        ("Blog 2024", "Canada", "Americas"),
        ("Blog", "XK", "XK"),
        ("Other", None, None),
    ]
