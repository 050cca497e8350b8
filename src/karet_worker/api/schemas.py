"""Request and response bodies of the API (the pipeline config itself is `config.model`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr


class ProblemOut(BaseModel):
    """One validation problem: `path` is a JSON Pointer into the submitted document."""

    kind: str
    message: str
    path: str


class ValidateOk(BaseModel):
    ok: Literal[True] = True
    warnings: list[ProblemOut]


class ValidateFailed(BaseModel):
    ok: Literal[False] = False
    error: str
    message: str
    details: list[ProblemOut]
    warnings: list[ProblemOut] = []


class ErrorEnvelope(BaseModel):
    """The shape of every error response."""

    error: str
    message: str
    details: list[Any]


class RunRequest(BaseModel):
    """Body of `POST /jobs/run`; unknown fields are rejected (they are usually typos)."""

    model_config = ConfigDict(extra="forbid")

    pipeline_prefix: StrictStr
    clean_run: StrictBool = False


class RunResponse(BaseModel):
    job_id: str
    partitions_written: int
    files_processed: int
    rows_read: int
    rows_written: int
    rows_deduped: int
    duration_ms: int
    errors: list[str]
    warnings: list[str]
