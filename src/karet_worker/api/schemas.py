"""Request and response bodies of the API (the pipeline config itself is `config.model`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from karet_worker.config.model import PipelineConfig
from karet_worker.layout import MAX_PREFIX_BYTES, PIPELINE_PREFIX_PATTERN


class ProblemOut(BaseModel):
    """One validation problem: `path` is a JSON Pointer into the submitted document."""

    kind: str = Field(
        description="invalid_json, schema, missing_field, duplicate_id, dangling_reference "
        "(problems) or unknown_field (warnings)",
        examples=["dangling_reference"],
    )
    message: str = Field(
        description="What is wrong, naming the id or column",
        examples=["mapping 'bank' references unknown analytic table 'spnd'"],
    )
    path: str = Field(
        description="JSON Pointer to the offending node", examples=["/mappings/0/analytic_table_id"]
    )


class ValidateOk(BaseModel):
    """The config is valid (warnings do not reject it)."""

    ok: Literal[True] = Field(default=True, description="Always true here")
    warnings: list[ProblemOut] = Field(description="Unknown fields: usually typos")


class ValidateFailed(BaseModel):
    """The config has problems; all of them are listed."""

    ok: Literal[False] = Field(default=False, description="Always false here")
    error: str = Field(description="Kind of the first problem", examples=["missing_field"])
    message: str = Field(description="The first problem, and how many more there are")
    details: list[ProblemOut] = Field(description="Every problem")
    warnings: list[ProblemOut] = Field(default=[], description="Unknown fields: usually typos")


class ErrorEnvelope(BaseModel):
    """The shape of every error response."""

    error: str = Field(description="Machine-readable kind", examples=["config_not_found"])
    message: str = Field(
        description="For people", examples=["no pipeline config at pipelines/x/pipeline.json"]
    )
    details: list[Any] = Field(description="E.g. the validation problems of config_invalid")


class RunRequest(BaseModel):
    """Body of `POST /jobs/run`; unknown fields are rejected (they are usually typos)."""

    model_config = ConfigDict(extra="forbid")

    # The rules are checked by `prefix_problems` (with messages naming what is wrong); the
    # schema publishes the same rules so that schema-valid requests are accepted (SPEC §7).
    pipeline_prefix: StrictStr = Field(
        description="The pipeline's folder in the bucket, e.g. `pipelines/shop/`: relative, "
        "ending in `/`, segments of `[A-Za-z0-9._-]` (not `.`/`..`), at most 512 bytes.",
        examples=["pipelines/demo/"],
        json_schema_extra={"pattern": PIPELINE_PREFIX_PATTERN, "maxLength": MAX_PREFIX_BYTES},
    )
    clean_run: StrictBool = Field(
        default=False,
        description="After writing, delete the objects of the config's tables this run did "
        "not write (only for tables whose mappings all succeeded)",
    )


class RunResponse(BaseModel):
    """Answer of `POST /jobs/run` (SPEC §6, §7): the counts let a reader account for every row
    and every input file."""

    job_id: str = Field(description="Id of the run; every log line of the run carries it")
    partitions_written: int = Field(description="Parquet objects written")
    files_processed: int = Field(
        description="Input objects the run read, including those it then skipped"
    )
    files_skipped: int = Field(description="Of those, how many were skipped (see errors)")
    rows_read: int = Field(description="Rows read from the inputs that were not skipped")
    rows_filtered: int = Field(
        description="Rows dropped by a source's `record_filter` or a mapping's `where`, over the "
        "mappings written"
    )
    rows_written: int = Field(description="Rows in the Parquet objects written")
    rows_deduped: int = Field(description="Rows dropped as duplicates of `dedup_keys`")
    duration_ms: int = Field(description="The run itself, without waiting for its turn.")
    wait_ms: int = Field(
        description="Time spent waiting for the pipeline's lock and a run slot before the run."
    )
    errors: list[str] = Field(
        description="Skipped files, failed mappings, sources without inputs; a run with "
        "errors still answers 200 (the CLI exits 4)",
        examples=[["pipelines/demo/raw/card/receipt-scan.csv: skipped: binary content"]],
    )
    warnings: list[str] = Field(
        description="Values that became null, null partitions, config warnings (unknown fields)"
    )


class PartitionOut(BaseModel):
    """One partition directory of a table."""

    path: str = Field(
        description="Hive path below the table, '' when unpartitioned",
        examples=["year=2024/month=01"],
    )
    files: int = Field(description="Parquet objects in it")
    rows: int = Field(description="Rows, summed from the Parquet footers")
    bytes: int = Field(description="Size of the objects")
    last_written: str | None = Field(description="Newest object's last-modified time (UTC)")


class TableOut(BaseModel):
    """What is stored for one table under `<prefix>clean/<table_id>/`."""

    table_id: str = Field(description="Folder under clean/", examples=["transactions"])
    declared: bool = Field(
        description="Declared by the current config (false: output of a dropped table)"
    )
    files: int = Field(description="Parquet objects")
    rows: int = Field(description="Rows, summed from the Parquet footers")
    bytes: int = Field(description="Size of the objects")
    last_written: str | None = Field(
        description="Newest object's last-modified time (UTC)", examples=["2026-12-02T07:41:03Z"]
    )
    partitions: list[PartitionOut] = Field(description="In path order")
    unreadable: list[str] = Field(
        description="Objects whose footer could not be read, as '<key>: <reason>'"
    )


class TablesResponse(BaseModel):
    """Answer of `GET /pipelines/{slug}/tables` (from Parquet footers, no data read)."""

    pipeline_prefix: str = Field(description="pipelines/<slug>/", examples=["pipelines/demo/"])
    tables: list[TableOut] = Field(
        description="Tables the config declares (also without output), then those found under "
        "clean/ that it does not"
    )


class InferredColumn(BaseModel):
    """The guess for one column of the sample."""

    name: str = Field(description="Header name", examples=["date"])
    type: str = Field(description="The declared type drafted for it", examples=["date"])
    format: str | None = Field(
        description="strftime format of non-ISO dates (the column stays a string; read it "
        "with a parse_date expression)",
        examples=["%d/%m/%Y"],
    )
    examples: list[str] = Field(description="Up to 3 distinct values from the sample")


class InferResponse(BaseModel):
    """Answer of `POST /sources/infer`."""

    source: dict[str, Any] = Field(
        description="The drafted SourceContainer, ready to paste into source_containers",
        examples=[
            {
                "id": "bank",
                "name": "bank",
                "path_prefix": "raw/bank/",
                "schema": [{"name": "date", "type": "date"}, {"name": "amount", "type": "number"}],
                "csv": {"delimiter": ","},
            }
        ],
    )
    columns: list[InferredColumn] = Field(description="Per column: type, date format, examples")
    notes: list[str] = Field(description="What a person should check: ambiguous formats...")


class _PreviewOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline_prefix: StrictStr | None = Field(
        default=None,
        description="Read the inputs of the sources not given inline from this pipeline prefix",
        examples=["pipelines/demo/"],
    )
    mapping_id: StrictStr | None = Field(
        default=None, description="Preview only this mapping (default: every mapping)"
    )
    limit: int = Field(
        default=20, ge=1, le=1000, description="Output rows per mapping", examples=[20]
    )
    sources: dict[str, StrictStr] = Field(
        default_factory=dict,
        description="Inline input per source id (CSV text, or NDJSON for ndjson sources), "
        "used instead of the source's files",
        examples=[{"bank": "date,description,amount\n2024-01-02,PRET A MANGER,-4.10\n"}],
    )


class PreviewRequest(_PreviewOptions):
    """Body of `POST /config/preview` (as documented); unknown fields are rejected."""

    config: PipelineConfig = Field(
        description="The config to preview, validated as by /config/validate: an invalid one "
        "answers 422 with its problems' paths under /config"
    )


class PreviewBody(_PreviewOptions):
    """`PreviewRequest` as parsed: the config stays raw JSON for the validator, which reports
    every problem with its path (Pydantic would stop at shapes)."""

    config: dict[str, Any]


class MappingPreviewOut(BaseModel):
    """The first output rows of one mapping, as a run would write them."""

    mapping_id: str = Field(description="The mapping previewed", examples=["bank"])
    table_id: str = Field(description="The table it writes", examples=["transactions"])
    schema_: list[dict[str, str]] = Field(
        alias="schema", description="The table's columns: [{name, type}]"
    )
    rows: list[dict[str, Any]] = Field(
        description="Every table column (partition keys too), dates as ISO text; partitions "
        "in key order, rows in input order within each"
    )
    rows_read: int = Field(description="Source rows read (a preview stops early)")
    rows_filtered: int = Field(description="Of those, dropped by `record_filter` or `where`")
    rows_deduped: int = Field(description="Dropped as duplicates of `dedup_keys`")
    partitions: list[str] = Field(
        description="Partition paths of the rows read", examples=[["year=2024/month=01"]]
    )
    errors: list[str] = Field(
        description="Skipped files, assertion failures over the rows previewed"
    )
    warnings: list[str] = Field(description="Values that became null, null partitions")


class PreviewResponse(BaseModel):
    """Answer of `POST /config/preview`: nothing was written."""

    mappings: list[MappingPreviewOut] = Field(description="In config order")
    errors: list[str] = Field(
        description="Errors no previewed mapping owns, e.g. a dimension that did not load"
    )
    warnings: list[str] = Field(
        description="About the whole config, e.g. unknown fields, tables no mapping writes"
    )
