"""The Polars type of each declared column type (SPEC §3: `number` is Float64)."""

from __future__ import annotations

import polars as pl

from karet_worker.config.model import ColumnType

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    "string": pl.String(),
    "number": pl.Float64(),
    "float64": pl.Float64(),
    "int64": pl.Int64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
}
