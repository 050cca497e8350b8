"""Drives one pipeline run through the stages (SPEC §6): config → extract → transform → load."""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections import defaultdict, deque
from collections.abc import MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, assert_never

import polars as pl

from karet_worker.config.model import (
    SOURCE_SUFFIXES,
    FileDimensionRows,
    PipelineConfig,
    SourceContainer,
)
from karet_worker.config.problems import Problem
from karet_worker.config.validate import validate_json
from karet_worker.engine.checks import AssertionChecker
from karet_worker.engine.dimensions import load_dimension
from karet_worker.engine.extract import Prefetcher, in_order, list_inputs, produce_ahead, removing
from karet_worker.engine.inputs import (
    Chunk,
    Closed,
    Evaluated,
    Failed,
    Opened,
    SourceWork,
    evaluate,
    read_files,
    reason,
)
from karet_worker.engine.keys import KeySet
from karet_worker.engine.limits import Limits
from karet_worker.engine.load import MemoryBudget, StagedOutput, Writers
from karet_worker.engine.partition import Prepared, Staging, pieces
from karet_worker.engine.read import SkippedRecords
from karet_worker.engine.result import (
    Checkpoint,
    ConfigInvalid,
    ConfigNotFound,
    IssueKind,
    ProgressListener,
    RunIssue,
    RunResult,
    RunStage,
    capped,
)
from karet_worker.engine.transform import (
    MappingPlan,
    Predicate,
    plan_mapping,
    record_filter,
)
from karet_worker.expressions.coerce import declared_dtype
from karet_worker.expressions.compile import ExpressionError
from karet_worker.expressions.lookups import DimensionRowsError, LookupCompiler, Matcher
from karet_worker.layout import PipelineKeys, UnsafeKey
from karet_worker.storage.base import DiskFull, ObjectNotFound, ObjectStore, is_disk_full
from karet_worker.storage.scratch import ScratchDir, sweep_dead

log = logging.getLogger("karet_worker.engine")

WORKDIR_LABEL = "karet-run"


class Runner:
    """Runs pipelines against one store. Callers keep runs of one prefix from overlapping
    (`karet_worker.jobs` takes the pipeline's lock around every run)."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        limits: Limits | None = None,
        work_root: Path | None = None,
    ) -> None:
        self.store = store
        self.limits = limits if limits is not None else Limits.for_machine()
        self.budget = MemoryBudget(self.limits.memory_budget_bytes)
        # Spill and download files of each run live in `<work_root>/karet-run-<pid>-<r>/`;
        # those of runs killed before they could clean up are removed here, at start-up.
        self.work_root = Path(tempfile.gettempdir()) if work_root is None else work_root
        sweep_dead(self.work_root, WORKDIR_LABEL)

    def run(
        self,
        prefix: str,
        *,
        clean_run: bool = False,
        job_id: str | None = None,
        progress: ProgressListener | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> RunResult:
        """Run the pipeline at `prefix`. Raises ConfigNotFound, ConfigInvalid,
        StorageUnavailable, and RunStopped when `checkpoint` says stop; every other problem is
        reported in the result."""
        result = RunResult(job_id=job_id or uuid.uuid4().hex)
        started = time.monotonic()
        with (
            ScratchDir(self.work_root, WORKDIR_LABEL) as workdir,
            ThreadPoolExecutor(self.limits.io_concurrency, thread_name_prefix="karet-io") as pool,
        ):
            writers = Writers(self.limits)
            context = _Context(self.store, self.limits, self.budget, workdir.path, pool, writers)
            run = _Run(context, prefix, clean_run, result, progress)
            run.check = checkpoint or _go_on
            try:
                run.execute()
            except (pl.exceptions.PolarsError, OSError) as exc:
                if not is_disk_full(exc):
                    raise
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise DiskFull(
                    f"storage unavailable: the run's work directory {workdir.path.parent} is "
                    f"full ({capped(first_line, 200)}); the run stopped"
                ) from exc
            finally:
                run.release()
                writers.shutdown()
        result.duration_ms = int((time.monotonic() - started) * 1000)
        log.info(
            "run finished",
            extra={"job_id": result.job_id, "pipeline_prefix": prefix, **_counts(result)},
        )
        return result

    def preview(
        self,
        stored: StoredConfig,
        prefix: str,
        *,
        limit: int,
        max_rows_read: int,
        mapping_id: str | None = None,
    ) -> tuple[RunResult, list[MappingSample]]:
        """The run's own reading and per-chunk evaluation (where, assertions, dedup, output
        types, partitions) of the inputs under `prefix`, stopping once every mapping has
        `limit` output rows or a source has given `max_rows_read` rows; nothing is written.
        No prefix lock: a preview never writes, so it may overlap a run."""
        result = RunResult(job_id=uuid.uuid4().hex)
        with (
            ScratchDir(self.work_root, WORKDIR_LABEL) as workdir,
            ThreadPoolExecutor(self.limits.io_concurrency, thread_name_prefix="karet-io") as pool,
        ):
            writers = Writers(self.limits)
            context = _Context(self.store, self.limits, self.budget, workdir.path, pool, writers)
            run = _Run(
                context, prefix, False, result, None, row_limit=limit, max_rows_read=max_rows_read
            )
            try:
                states = run.transform(stored, mapping_id)
                samples = [run.sample(state, limit) for state in states]
            finally:
                run.release()
                writers.shutdown()
        return result, samples


@dataclass(frozen=True)
class MappingSample:
    """What a preview shows of one mapping: its first output rows as the run would write them
    (every table column, in table order; partitions in key order, rows in ingest order within
    each), the partition paths seen and the mapping's counts."""

    plan: MappingPlan
    rows: pl.DataFrame
    partitions: list[str]
    rows_read: int  # from its source
    rows_filtered: int
    rows_deduped: int
    violations: list[str]


class StoredConfig(NamedTuple):
    """A valid config and its validation warnings (unknown fields: usually typos)."""

    config: PipelineConfig
    warnings: list[Problem]


def load_config(store: ObjectStore, prefix: str) -> StoredConfig:
    """The validated config at `<prefix>pipeline.json`, or ConfigNotFound / ConfigInvalid."""
    key = PipelineKeys(prefix).config
    try:
        raw = store.get(key)
    except ObjectNotFound:
        raise ConfigNotFound(key) from None
    report = validate_json(raw)
    if report.config is None:
        problems = [p.to_dict() for p in report.problems]
        first = report.problems[0].message if report.problems else "invalid config"
        raise ConfigInvalid(
            f"{key} is invalid ({len(problems)} problem(s)); first: {first}", problems
        )
    return StoredConfig(report.config, report.warnings)


class _JobLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Tags every line of a run with its job id, keeping each call's own extra fields
    (the stock adapter of Python 3.11 replaces them)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


@dataclass
class _MappingState:
    """One mapping's progress through the run."""

    staging: Staging  # its plan, and how the pool prepares its batches
    output: StagedOutput
    checker: AssertionChecker
    dedup: KeySet | None
    files_ok: int = 0
    files_failed: int = 0
    rows_deduped: int = 0
    rows_filtered: int = 0
    null_partition_rows: int = 0
    cast_failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending_deduped: int = 0
    pending_filtered: int = 0
    pending_kept: int = 0  # rows added to the spill for the file being read
    pending_nulls: int = 0
    pending_casts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def plan(self) -> MappingPlan:
        return self.staging.plan

    def commit(self) -> None:
        self.output.commit()
        self.checker.commit()
        if self.dedup is not None:
            self.dedup.commit()
        self.rows_deduped += self.pending_deduped
        self.rows_filtered += self.pending_filtered
        self.null_partition_rows += self.pending_nulls
        for column, count in self.pending_casts.items():
            self.cast_failures[column] += count
        self._clear_pending()
        self.files_ok += 1

    def rollback(self) -> None:
        self.output.rollback()
        self.checker.rollback()
        if self.dedup is not None:
            self.dedup.rollback()
        self._clear_pending()
        self.files_failed += 1

    def _clear_pending(self) -> None:
        self.pending_deduped = 0
        self.pending_filtered = 0
        self.pending_kept = 0
        self.pending_nulls = 0
        self.pending_casts = defaultdict(int)


@dataclass(frozen=True)
class _Context:
    """What a run gets from its Runner: the store, the knobs and the process-wide budget, and
    its own scratch directory, I/O pool and Parquet writers."""

    store: ObjectStore
    limits: Limits
    budget: MemoryBudget
    workdir: Path
    pool: ThreadPoolExecutor
    writers: Writers


class _Run:
    def __init__(
        self,
        context: _Context,
        prefix: str,
        clean_run: bool,
        result: RunResult,
        progress: ProgressListener | None,
        *,
        row_limit: int | None = None,
        max_rows_read: int | None = None,
    ) -> None:
        """`row_limit` makes a preview: reading stops once every mapping has that many output
        rows, or a source has given `max_rows_read` rows (its `where` may keep none)."""
        self.context = context
        self.store = context.store
        self.limits = context.limits
        self.prefix = prefix
        self.keys = PipelineKeys(prefix)
        self.clean_run = clean_run
        self.result = result
        self.progress = progress
        self.workdir = context.workdir
        self.pool = context.pool
        self.states: list[_MappingState] = []
        self.log = _JobLog(log, {"job_id": result.job_id, "pipeline_prefix": prefix})
        self.source_violations: dict[str, list[str]] = {}  # source id -> its assertion failures
        self.check: Checkpoint = _go_on
        self.record_filters: dict[str, Predicate | None] = {}  # source id -> its record_filter
        self.unplanned_tables: set[str] = set()  # tables of mappings that could not be planned
        self.rows_by_source: dict[str, int] = defaultdict(int)
        self.row_limit = row_limit
        self.max_rows_read = max_rows_read

    def execute(self) -> None:
        stored = load_config(self.store, self.prefix)
        self.log.info("run started", extra={"clean_run": self.clean_run})
        states = self.transform(stored)
        self.check(RunStage.writing)
        written, failed_tables = self._load(states)
        if self.clean_run:
            self.check(RunStage.pruning)
            self._prune(stored.config, states, written, failed_tables | self.unplanned_tables)

    def transform(self, stored: StoredConfig, mapping_id: str | None = None) -> list[_MappingState]:
        """Everything but writing: plan the mappings (all, or the one `mapping_id`), read each
        source once and evaluate its mappings chunk by chunk."""
        config, warnings = stored
        # validate says them; a run repeats them, or a typo'd `dedup_key` silently dedups nothing
        self.result.warnings.extend(
            RunIssue(IssueKind.CONFIG_WARNING, detail=warning.message) for warning in warnings
        )
        states = self.states = self._plan(config, self._load_dimensions(config))
        if mapping_id is not None:
            states = [s for s in states if s.plan.mapping.id == mapping_id]
        fed = {s.plan.table.id for s in states} | self.unplanned_tables
        for table in config.analytic_tables:
            if table.id not in fed:
                self.result.warnings.append(RunIssue(IssueKind.TABLE_UNFED, table=table.id))
        for source in config.source_containers:
            mine = [s for s in states if s.plan.source.id == source.id]
            if mine:
                self._extract_and_transform(source, mine)
        return states

    def sample(self, state: _MappingState, limit: int) -> MappingSample:
        """The first `limit` rows a run would write for this mapping (see MappingSample): its
        output files are completed in the local work directory, as a run's are before upload,
        and their first rows read back."""
        frames: list[pl.DataFrame] = []
        segments: list[str] = []
        try:
            for segment, path, written in state.output.finish():
                written.result()
                segments.append(segment)
                wanted = limit - sum(f.height for f in frames)
                if wanted > 0:
                    frames.append(pl.read_parquet(path, n_rows=wanted))
        finally:
            state.output.discard()
        columns = [c.name for c in state.plan.table.columns]
        schema = {c.name: declared_dtype(c.type) for c in state.plan.table.columns}
        rows = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
        violations = self.source_violations.get(state.plan.source.id, [])
        return MappingSample(
            plan=state.plan,
            rows=rows.select(columns),
            partitions=[s for s in segments if s],
            rows_read=self.rows_by_source.get(state.plan.source.id, 0),
            rows_filtered=state.rows_filtered,
            rows_deduped=state.rows_deduped,
            violations=violations + state.checker.violations(),
        )

    def release(self) -> None:
        """Give every output's memory back to the process budget, whatever happened."""
        for state in self.states:
            state.output.discard()

    def _load_dimensions(self, config: PipelineConfig) -> dict[str, Matcher]:
        """The file-backed dimensions' matchers; one that cannot be loaded is a run error."""
        loaded: dict[str, Matcher] = {}
        for dimension in config.dimensions:
            if isinstance(dimension.rows, FileDimensionRows):
                try:
                    loaded[dimension.id] = load_dimension(
                        self.store, dimension, dimension.rows, self.workdir
                    )
                except DimensionRowsError as exc:
                    issue = RunIssue(IssueKind.DIMENSION_FAILED, detail=capped(str(exc)))
                    self.result.errors.append(issue)
        return loaded

    def _plan(self, config: PipelineConfig, loaded: dict[str, Matcher]) -> list[_MappingState]:
        """Compile every mapping; one that cannot be compiled (it uses a dimension that did
        not load) is reported and left out, and the others run."""
        sources = {s.id: s for s in config.source_containers}
        tables = {t.id: t for t in config.analytic_tables}
        states: list[_MappingState] = []
        lookups = LookupCompiler(config.lookup_mappings, config.dimensions, loaded)
        unusable: dict[str, str] = {}  # source id -> why its record_filter cannot be compiled
        for source in config.source_containers:
            try:
                self.record_filters[source.id] = record_filter(source, lookups)
            except ExpressionError as exc:
                unusable[source.id] = f"the record_filter of source '{source.id}': {exc}"
        for index, mapping in enumerate(config.mappings):
            table = tables[mapping.analytic_table_id]
            try:
                if mapping.source_container_id in unusable:
                    raise ExpressionError(unusable[mapping.source_container_id])
                plan = plan_mapping(mapping, table, sources[mapping.source_container_id], lookups)
            except ExpressionError as exc:
                self.result.errors.append(
                    RunIssue(IssueKind.MAPPING_NOT_RUN, mapping=mapping.id, detail=str(exc))
                )
                self.unplanned_tables.add(table.id)
                continue
            # a preview shows partition key columns too; a run stores them in the path only
            columns = plan.payload if self.row_limit is None else [c.name for c in table.columns]
            types = {c.name: declared_dtype(c.type) for c in table.columns}
            payload = pl.Schema({name: types[name] for name in columns})
            output = StagedOutput(
                self.workdir / f"out-{index:04d}",
                payload,
                self.context.budget,
                self.context.writers,
            )
            checker = AssertionChecker(table.columns)
            dedup = KeySet(list(table.dedup_keys)) if table.dedup_keys else None
            staging = Staging(plan, columns, checker.reads_rows, dedups=dedup is not None)
            states.append(_MappingState(staging, output, checker, dedup))
        return states

    # ------------------------------------------------------------------ extract + transform

    def _extract_and_transform(self, source: SourceContainer, states: list[_MappingState]) -> None:
        """Read the source's inputs one after another as one stream of chunks, so that parsing
        and evaluating run ahead across file boundaries (the bench's inputs are one 8 MB chunk
        each: pipelined per file, parse, evaluate and staging never overlapped), while staging,
        counts and the per-file commit or rollback happen here, in file order."""
        keys = list_inputs(self.store, self.prefix, source)
        if not keys:
            suffixes = ", ".join(SOURCE_SUFFIXES[source.format])
            where = f"({suffixes}) under {self.keys.inputs(source.path_prefix)}"
            self.result.errors.append(
                RunIssue(IssueKind.NO_INPUT_FILES, source=source.id, detail=where)
            )
            return
        if self.progress is not None:
            self.progress.files_found(len(keys))
        fetches = Prefetcher(
            self.store, keys, self.workdir, self.pool, ahead=self.limits.read_ahead
        )
        checker = AssertionChecker(source.columns, subject=f"source '{source.id}' column")
        work = SourceWork(
            keep=self.record_filters.get(source.id),
            reads_records=checker.reads_rows,
            mappings=[state.staging for state in states],
        )
        evaluated = partial(evaluate, work=work)
        parsed = produce_ahead(
            read_files(fetches, source, self.limits.chunk_bytes), ahead=self.limits.parse_ahead
        )
        events = in_order(
            parsed,
            evaluated,
            self.pool,
            ahead=self.limits.evaluate_ahead,
            heavy=lambda read: isinstance(read, Chunk),
        )
        file: _FileProgress | None = None  # the file being read; None once skipped
        try:
            for event in events:
                self.check(RunStage.reading)
                match event:
                    case Opened(key):
                        if self._enough(source, states):
                            break
                        self.result.files_processed += 1  # skipped files too (SPEC §6)
                        file = _FileProgress(key)
                    case Evaluated(key) if file is not None:
                        try:
                            self._stage(file, event, states, checker)
                        except (UnsafeKey, pl.exceptions.PolarsError, OSError) as exc:
                            if is_disk_full(exc):
                                raise  # the work directory is full, not the input broken
                            self._skip(key, reason(exc), states, checker)
                            file = None
                            continue
                        if self._enough(source, states, file.rows):
                            self._commit(source, file, states, checker)
                            break  # a preview has what it shows: the rest is not read
                    case Failed(key, why) if file is not None:
                        self._skip(key, why, states, checker)
                        file = None
                    case Closed() if file is not None:
                        self._commit(source, file, states, checker)
                        file = None
                    case Evaluated() | Failed() | Closed():
                        pass  # the rest of a file already skipped
                    case unreachable:
                        assert_never(unreachable)
        finally:
            events.close()
        self.source_violations[source.id] = checker.violations()

    def _stage(
        self,
        file: _FileProgress,
        evaluated: Evaluated,
        states: list[_MappingState],
        checker: AssertionChecker,
    ) -> None:
        """One evaluated chunk into every mapping's output, pending until the file commits;
        the source's own column assertions count it first."""
        file.rows += evaluated.rows
        for column, count in evaluated.unparsed.items():
            file.unparsed[column] += count
        if evaluated.skipped is not None:
            file.skipped.append(evaluated.skipped)
        for state in states:  # dropped before every mapping: each counts them (SPEC §6)
            state.pending_filtered += evaluated.record_filtered
        if evaluated.records is not None:
            checker.observe(evaluated.records, file.key)
        for state, prepared in zip(states, evaluated.prepared, strict=True):
            self._add(state, prepared, file.key)
        self._relieve_memory()

    def _commit(
        self,
        source: SourceContainer,
        file: _FileProgress,
        states: list[_MappingState],
        checker: AssertionChecker,
    ) -> None:
        """A file read to its end (or as far as a preview needs): its rows and counts count."""
        if file.skipped:
            self.result.warnings.append(
                RunIssue(
                    IssueKind.RECORDS_SKIPPED,
                    file=file.key,
                    count=sum(s.records for s in file.skipped),
                    detail=file.skipped[0].first,
                )
            )
        types = {c.name: c.type for c in source.columns}
        for column, count in file.unparsed.items():
            self.result.warnings.append(
                RunIssue(
                    IssueKind.UNPARSED_VALUES,
                    file=file.key,
                    column=column,
                    count=count,
                    expected=types[column],
                )
            )
        checker.commit()
        for state in states:
            state.commit()
        self.result.rows_read += file.rows
        self.rows_by_source[source.id] += file.rows
        if self.progress is not None:
            self.progress.file_done(file.key, file.rows)

    def _skip(
        self, key: str, reason: str, states: list[_MappingState], checker: AssertionChecker
    ) -> None:
        checker.rollback()
        for state in states:
            state.rollback()
        self.result.files_skipped += 1
        if self.progress is not None:
            self.progress.file_done(key, 0)
        issue = RunIssue(IssueKind.FILE_SKIPPED, file=key, detail=capped(reason))
        self.result.errors.append(issue)
        self.log.warning("input skipped", extra={"key": key, "reason": issue.detail})

    def _enough(
        self, source: SourceContainer, states: list[_MappingState], reading: int = 0
    ) -> bool:
        """A preview stops when every mapping has `row_limit` rows, or the source has given
        `max_rows_read` rows (counting `reading`, those of the file being read); a run never."""
        if self.row_limit is None:
            return False
        read = self.rows_by_source[source.id] + reading
        if self.max_rows_read is not None and read >= self.max_rows_read:
            return True
        return all(s.output.rows + s.pending_kept >= self.row_limit for s in states)

    def _add(self, state: _MappingState, prepared: Prepared, key: str) -> None:
        """A mapping's prepared batch: its counts pending, its rows checked, deduped (the
        one step that depends on the chunks before, so it is done here, in order, and the
        rows cut by partition after it) and added to the output."""
        for column, count in prepared.cast_failures.items():
            state.pending_casts[column] += count
        state.pending_filtered += prepared.filtered
        if prepared.rows is not None and state.checker.reads_rows:
            state.checker.observe(prepared.rows, key)
        cut = prepared.pieces
        if cut is None:
            assert state.dedup is not None and prepared.rows is not None
            rows = state.dedup.first_new(prepared.rows)
            state.pending_deduped += prepared.rows.height - rows.height
            cut = pieces(rows, state.plan, state.staging.columns)
        state.pending_nulls += cut.null_partition_rows
        for segment, table in cut.tables:
            state.pending_kept += table.num_rows
            state.output.add(segment, table)

    def _relieve_memory(self) -> None:
        """While the process holds more waiting output than its budget, spill this run's
        largest waiting buffer (other runs relieve their own as they add rows)."""
        budget = self.context.budget
        while budget.exceeded:
            biggest = max(self.states, key=lambda s: s.output.largest_in_memory())
            if biggest.output.largest_in_memory() == 0:
                return
            biggest.output.spill_largest()

    # ------------------------------------------------------------------ load

    def _load(self, states: list[_MappingState]) -> tuple[set[str], set[str]]:
        """Complete and upload every successful mapping's files; returns keys written and
        failed tables. The writers finish the files while uploads of the finished ones run
        on the I/O pool."""
        written: set[str] = set()
        failed_tables: set[str] = set()
        files: list[tuple[str, Path, Future[None]]] = []
        for state in states:
            plan = state.plan
            violations = self.source_violations.get(plan.source.id, [])
            violations = violations + state.checker.violations()
            if violations:
                failed_tables.add(plan.table.id)
                for message in violations:
                    self.result.errors.append(
                        RunIssue(
                            IssueKind.ASSERTION_FAILED, mapping=plan.mapping.id, detail=message
                        )
                    )
                state.output.discard()
                continue
            self._warn_counts(state)
            empty_file = not plan.partition_columns and state.files_ok > 0
            segments = state.output.segments(empty_file=empty_file)
            try:
                keys = [self.keys.output(plan.table.id, s, plan.mapping.id) for s in segments]
            except UnsafeKey as exc:
                failed_tables.add(plan.table.id)
                self.result.errors.append(
                    RunIssue(IssueKind.UNSAFE_OUTPUT_KEY, mapping=plan.mapping.id, detail=str(exc))
                )
                state.output.discard()
                continue
            self.result.rows_written += state.output.rows
            finished = state.output.finish(empty_file=empty_file)
            for key, (_segment, local, done) in zip(keys, finished, strict=True):
                files.append((key, local, done))
                written.add(key)
        uploads: deque[Future[None]] = deque()
        for key, local, done in files:
            done.result()
            if len(uploads) >= self.limits.uploads:
                uploads.popleft().result()
            uploads.append(self.pool.submit(self._upload, key, local))
        for upload in uploads:
            upload.result()
        self.result.partitions_written = len(written)
        return written, failed_tables

    def _upload(self, key: str, local: Path) -> None:
        with removing(local):
            self.check(RunStage.writing)
            self.store.put_file(key, local)
        if self.progress is not None:
            self.progress.partition_written(key)

    def _warn_counts(self, state: _MappingState) -> None:
        plan = state.plan
        self.result.rows_deduped += state.rows_deduped
        self.result.rows_filtered += state.rows_filtered
        types = {c.name: c.type for c in plan.table.columns}
        for column, count in state.cast_failures.items():
            self.result.warnings.append(
                RunIssue(
                    IssueKind.CAST_FAILED,
                    mapping=plan.mapping.id,
                    column=column,
                    count=count,
                    expected=types[column],
                )
            )
        if state.null_partition_rows:
            self.result.warnings.append(
                RunIssue(
                    IssueKind.NULL_PARTITION,
                    mapping=plan.mapping.id,
                    count=state.null_partition_rows,
                )
            )

    def _prune(
        self,
        config: PipelineConfig,
        states: list[_MappingState],
        written: set[str],
        failed_tables: set[str],
    ) -> None:
        """Delete what this run did not write, for tables whose mappings all succeeded."""
        for table in config.analytic_tables:
            feeding = [s for s in states if s.plan.table.id == table.id]
            if table.id in failed_tables:
                why = "a mapping into it failed"
                self.result.warnings.append(
                    RunIssue(IssueKind.TABLE_NOT_PRUNED, table=table.id, detail=why)
                )
                continue
            if any(s.files_ok == 0 for s in feeding):
                why = "a mapping into it read no usable input file"
                self.result.warnings.append(
                    RunIssue(IssueKind.TABLE_NOT_PRUNED, table=table.id, detail=why)
                )
                continue
            stale = [
                o.key for o in self.store.list(self.keys.table(table.id)) if o.key not in written
            ]
            if stale:
                self.check(RunStage.pruning)
                self.store.delete_many(stale)
                self.log.info(
                    "pruned stale objects", extra={"table": table.id, "count": len(stale)}
                )


@dataclass
class _FileProgress:
    """What the run has staged of the input file being read, until it commits."""

    key: str
    rows: int = 0
    unparsed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: list[SkippedRecords] = field(default_factory=list)


def _go_on(stage: RunStage) -> None:
    """The checkpoint of a run nobody stops."""


def _counts(result: RunResult) -> dict[str, int]:
    return {
        "files_processed": result.files_processed,
        "files_skipped": result.files_skipped,
        "rows_filtered": result.rows_filtered,
        "partitions_written": result.partitions_written,
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "rows_deduped": result.rows_deduped,
        "errors": len(result.errors),
        "warnings": len(result.warnings),
    }
