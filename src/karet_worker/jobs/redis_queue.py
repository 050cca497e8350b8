"""The distributed queue (`REDIS_URL`): a Redis stream read by a consumer group (SPEC §12).

Keys (prefix `KARET_QUEUE_PREFIX`, default `karet:`), compatible with the Karet platform:

| key | type | holds |
|---|---|---|
| `jobs:stream` | stream, group `workers` | an entry per delivery, `payload` = JobMessage JSON |
| `jobs:live:<job_id>` | hash | the job's live record; expires 7 days after it ends |
| `jobs:index:<pipeline>` | sorted set | job ids by enqueue time (unix ms) |
| `jobs:delayed` | sorted set | payloads by due time: deferred and backing-off jobs |
| `jobs:events:<pipeline>` | pub/sub channel | the job id, on every change of its record |
| `lock:pipeline:<pipeline>` | string | the running job's fence `<job_id>:<attempt>` |

A delivery is acknowledged (and its entry deleted, so the stream holds only work in flight)
when the job ends or is deferred; until then it sits in the group's pending list, and a
consumer that died is relieved of it by `XAUTOCLAIM` after `KARET_RECLAIM_IDLE_S` (live
consumers reset the idle time every heartbeat).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

import redis
from redis.maint_notifications import MaintNotificationsConfig

from karet_worker.jobs.errors import JobAlreadyFinished, JobNotFound, QueueUnavailable
from karet_worker.jobs.history import JobHistory
from karet_worker.jobs.model import (
    JobMessage,
    JobRecord,
    JobStatus,
    Progress,
    Stage,
    Trigger,
    from_ms,
    now_ms,
    pipeline_name,
)
from karet_worker.jobs.queue import Claim, QueueHealth
from karet_worker.jobs.records import merge_newest_first, terminal_copy, utcnow
from karet_worker.jobs.redis_locks import RedisLocks
from karet_worker.settings import QueueSettings

log = logging.getLogger("karet_worker.jobs")

GROUP = "workers"
LIVE_TTL_S = 7 * 24 * 3600  # a finished job's live record is kept 7 days (SPEC §12)
BLOCK_S = 1.0  # longest XREADGROUP wait, so a stopping consumer notices within a second
MOVE_DUE_EVERY_S = 0.5
# The socket timeout must exceed the blocking read, or every idle read "fails".
SOCKET_TIMEOUT_S = 5.0

# Move due entries of the delayed set back onto the stream; each moves exactly once.
MOVE_DUE_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 20)
for _, payload in ipairs(due) do
  redis.call('ZREM', KEYS[1], payload)
  redis.call('XADD', KEYS[2], '*', 'payload', payload)
end
return #due
"""

# Count the delivery as an attempt; re-create the record's fields if the hash is missing
# (enqueued by a client that wrote no hash, or expired).
CLAIM_SCRIPT = """
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if redis.call('HEXISTS', KEYS[1], 'status') == 0 then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'pipeline', ARGV[1], 'prefix', ARGV[2],
             'trigger', ARGV[3], 'enqueued_at', ARGV[4], 'clean_run', ARGV[5])
end
return n
"""

# queued/running (reclaimed) -> running under our fence; terminal -> acknowledge and drop.
START_SCRIPT = """
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' or s == 'running' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'started_at', ARGV[2],
             'fence', ARGV[3], 'stage', 'waiting', 'files_done', 0, 'rows_read', 0,
             'partitions_written', 0)
  redis.call('HDEL', KEYS[1], 'files_total', 'error', 'finished_at', 'result')
  redis.call('PUBLISH', KEYS[3], ARGV[4])
  return s
end
redis.call('XACK', KEYS[2], ARGV[5], ARGV[6])
redis.call('XDEL', KEYS[2], ARGV[6])
return s or 'missing'
"""

# Only the holder of the current fence may report progress or a verdict.
PROGRESS_SCRIPT = """
if redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
"""

FINISH_SCRIPT = """
local f = redis.call('HGET', KEYS[1], 'fence')
if f and f ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'cancel_requested', 'error', 'result')
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
redis.call('XDEL', KEYS[2], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[5])
return 1
"""

# Back to queued, due again at ARGV[1] — unless it ended meanwhile (cancelled): then just drop
# the delivery. ARGV[3] = 1 keeps the attempt counted.
DEFER_SCRIPT = """
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' or s == 'running' or not s then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
  if ARGV[3] == '0' then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
  redis.call('HSET', KEYS[1], 'status', 'queued', 'stage', 'queued')
  redis.call('HDEL', KEYS[1], 'fence')
end
redis.call('XACK', KEYS[3], ARGV[4], ARGV[5])
redis.call('XDEL', KEYS[3], ARGV[5])
redis.call('PUBLISH', KEYS[4], ARGV[6])
return 1
"""

# queued -> cancelled now; running -> ask it to stop; terminal -> its status (409).
CANCEL_SCRIPT = """
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'missing' end
if s == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', ARGV[1], 'stage', 'done',
             'error', 'cancelled while queued')
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('PUBLISH', KEYS[2], ARGV[3])
  return 'cancelled'
end
if s == 'running' then
  redis.call('HSET', KEYS[1], 'cancel_requested', '1')
  redis.call('PUBLISH', KEYS[2], ARGV[3])
end
return s
"""


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.stream = f"{prefix}jobs:stream"
        self.delayed = f"{prefix}jobs:delayed"

    def live(self, job_id: str) -> str:
        return f"{self.prefix}jobs:live:{job_id}"

    def index(self, pipeline: str) -> str:
        return f"{self.prefix}jobs:index:{pipeline}"

    def events(self, pipeline: str) -> str:
        return f"{self.prefix}jobs:events:{pipeline}"


class RedisQueue:
    def __init__(self, settings: QueueSettings, history: JobHistory) -> None:
        assert settings.redis_url is not None
        self.settings = settings
        self.history = history
        self.keys = Keys(settings.key_prefix)
        self.client: redis.Redis = redis.Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=2.0,
            health_check_interval=10,
            # Redis Cloud's maintenance notices: not in Redis 6.2/7 or Valkey; saves a round
            # trip per connection.
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )
        self.locks = RedisLocks(self.client, settings.key_prefix, settings.heartbeat_s)
        self._move_due = self.client.register_script(MOVE_DUE_SCRIPT)
        self._claim = self.client.register_script(CLAIM_SCRIPT)
        self._start = self.client.register_script(START_SCRIPT)
        self._progress = self.client.register_script(PROGRESS_SCRIPT)
        self._finish = self.client.register_script(FINISH_SCRIPT)
        self._cancel = self.client.register_script(CANCEL_SCRIPT)
        self._defer = self.client.register_script(DEFER_SCRIPT)
        self._group_ready = False
        self._next_move_due = 0.0
        self._next_reclaim = 0.0

    # ------------------------------------------------------------------ producer side

    def submit(self, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobRecord:
        message = JobMessage.new(prefix, clean_run=clean_run, trigger=trigger)
        live = self.keys.live(message.job_id)
        index = self.keys.index(message.pipeline)
        with _unavailable("cannot enqueue the job"):
            pipe = self.client.pipeline(transaction=True)
            pipe.xadd(self.keys.stream, {"payload": message.to_json()})
            pipe.hset(
                live,
                mapping={
                    "status": JobStatus.queued.value,
                    "pipeline": message.pipeline,
                    "prefix": message.prefix,
                    "trigger": message.trigger.value,
                    "enqueued_at": message.enqueued_at,
                    "clean_run": _bool(message.clean_run),
                    "attempts": 0,
                    "stage": Stage.queued.value,
                },
            )
            pipe.zadd(index, {message.job_id: message.enqueued_at})
            # Index entries outlive their live records by at most the records' own TTL.
            pipe.zremrangebyscore(index, "-inf", message.enqueued_at - LIVE_TTL_S * 1000)
            pipe.publish(self.keys.events(message.pipeline), message.job_id)
            pipe.execute()
        return message.queued_record()

    def get(self, job_id: str) -> JobRecord:
        with _unavailable("cannot read the job"):
            fields = cast(dict[str, str], self.client.hgetall(self.keys.live(job_id)))
        record = _record(job_id, fields)
        if record is None:
            raise JobNotFound(job_id)
        return record

    def list(
        self, *, prefix: str | None = None, status: JobStatus | None = None, limit: int = 50
    ) -> list[JobRecord]:
        with _unavailable("cannot list jobs"):
            if prefix is not None:
                indexes = [self.keys.index(pipeline_name(prefix))]
            else:
                indexes = list(self.client.scan_iter(match=self.keys.index("*"), count=500))
            live: list[JobRecord] = []
            for index in indexes:
                live.extend(self._newest(index, prefix=prefix, status=status, limit=limit))
        stored = self.history.newest_first(prefix) if prefix is not None else iter(())
        return merge_newest_first(live, stored, status=status, limit=limit)

    def _newest(
        self, index: str, *, prefix: str | None, status: JobStatus | None, limit: int
    ) -> Iterator[JobRecord]:
        """Up to `limit` matching live records of one index, newest first, 100 per trip."""
        found = 0
        for start in range(0, 100_000, 100):
            ids = cast(list[str], self.client.zrevrange(index, start, start + 99))
            if not ids:
                return
            pipe = self.client.pipeline(transaction=False)
            for job_id in ids:
                pipe.hgetall(self.keys.live(job_id))
            for job_id, fields in zip(ids, pipe.execute(), strict=True):
                record = _record(job_id, fields)
                if record is None:
                    continue
                if prefix is not None and record.pipeline_prefix != prefix:
                    continue
                if status is not None and record.status is not status:
                    continue
                yield record
                found += 1
                if found >= limit:
                    return

    def cancel(self, job_id: str) -> JobRecord:
        record = self.get(job_id)
        if record.status.terminal:
            raise JobAlreadyFinished(record)
        if record.status is JobStatus.queued:
            # History first: once the live record says cancelled, it must already be there.
            self.history.write(
                terminal_copy(record, JobStatus.cancelled, error="cancelled while queued")
            )
        with _unavailable("cannot cancel the job"):
            self._cancel(
                keys=[
                    self.keys.live(job_id),
                    self.keys.events(pipeline_name(record.pipeline_prefix)),
                ],
                args=[_iso(utcnow()), LIVE_TTL_S, job_id],
            )
        return self.get(job_id)

    def health(self) -> QueueHealth:
        with _unavailable("not answering"):
            self.client.ping()
            self._ensure_group()
            idle_limit_ms = self.settings.reclaim_idle_s * 1000
            consumers = self.client.xinfo_consumers(self.keys.stream, GROUP)
            alive = sum(1 for c in consumers if int(c.get("idle", 0)) < idle_limit_ms)
            pending = sum(int(c.get("pending", 0)) for c in consumers)
            depth = (
                int(self.client.xlen(self.keys.stream))
                - pending
                + int(self.client.zcard(self.keys.delayed))
            )
        return QueueHealth("redis", consumers=alive, depth=max(depth, 0))

    # ------------------------------------------------------------------ consumer side

    def claim(self, consumer: str, timeout_s: float) -> Claim | None:
        with _unavailable("cannot claim a job"):
            self._ensure_group()
            now = time.monotonic()
            if now >= self._next_move_due:
                self._next_move_due = now + MOVE_DUE_EVERY_S
                self._move_due(keys=[self.keys.delayed, self.keys.stream], args=[now_ms()])
            if now >= self._next_reclaim:
                self._next_reclaim = now + min(5.0, self.settings.reclaim_idle_s / 4)
                claim = self._reclaim(consumer)
                if claim is not None:
                    return claim
            try:
                reply: Any = self.client.xreadgroup(
                    GROUP,
                    consumer,
                    {self.keys.stream: ">"},
                    count=1,
                    block=max(1, int(min(timeout_s, BLOCK_S) * 1000)),
                )
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # Redis lost its data (restart without persistence)
                    self._group_ready = False
                    return None
                raise
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    return self._claimed(consumer, entry_id, fields)
        return None

    def _reclaim(self, consumer: str) -> Claim | None:
        idle_ms = int(self.settings.reclaim_idle_s * 1000)
        reply: Any = self.client.xautoclaim(
            self.keys.stream, GROUP, consumer, idle_ms, start_id="0-0", count=1
        )
        entries = reply[1] if len(reply) > 1 else []
        for entry_id, fields in entries:
            if fields is None:
                continue
            log.warning("reclaimed a job from a consumer that stopped", extra={"entry": entry_id})
            return self._claimed(consumer, entry_id, fields)
        return None

    def _claimed(self, consumer: str, entry_id: str, fields: dict[str, str]) -> Claim | None:
        try:
            message = JobMessage.model_validate_json(fields.get("payload", ""))
        except ValueError:
            log.error("unreadable job payload dropped", extra={"entry": entry_id})
            self._drop(entry_id)
            return None
        attempt = self._claim(
            keys=[self.keys.live(message.job_id)],
            args=[
                message.pipeline,
                message.prefix,
                message.trigger.value,
                message.enqueued_at,
                _bool(message.clean_run),
            ],
        )
        return Claim(message, int(attempt), delivery=entry_id, consumer=consumer)

    def _drop(self, entry_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.keys.stream, GROUP, entry_id)
        pipe.xdel(self.keys.stream, entry_id)
        pipe.execute()

    def touch(self, claim: Claim) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.xclaim(
                self.keys.stream,
                GROUP,
                claim.consumer,
                0,
                [claim.delivery],
                idle=0,
                justid=True,
            )

    def start(self, claim: Claim, worker: str) -> JobStatus:
        message = claim.message
        with _unavailable("cannot mark the job running"):
            before = self._start(
                keys=[
                    self.keys.live(message.job_id),
                    self.keys.stream,
                    self.keys.events(message.pipeline),
                ],
                args=[worker, _iso(utcnow()), claim.fence, message.job_id, GROUP, claim.delivery],
            )
        if before == "missing":
            return JobStatus.cancelled  # the record vanished: nothing to run for
        return JobStatus(before)

    def cancel_requested(self, job_id: str) -> bool:
        with _unavailable("cannot read the job"):
            return bool(self.client.hget(self.keys.live(job_id), "cancel_requested"))

    def progress(self, claim: Claim, progress: Progress) -> None:
        fields: list[Any] = []
        for name, value in _progress_fields(progress).items():
            fields += [name, value]
        message = claim.message
        with _unavailable("cannot report progress"):
            self._progress(
                keys=[self.keys.live(message.job_id), self.keys.events(message.pipeline)],
                args=[claim.fence, message.job_id, *fields],
            )

    def finish(self, claim: Claim, record: JobRecord) -> None:
        fields: dict[str, Any] = {
            "status": record.status.value,
            "finished_at": _iso(record.finished_at or utcnow()),
            "attempts": record.attempts,
            **_progress_fields(record.progress),
        }
        if record.error is not None:
            fields["error"] = record.error
        if record.result is not None:
            fields["result"] = json.dumps(record.result)
        flat: list[Any] = []
        for name, value in fields.items():
            flat += [name, value]
        message = claim.message
        with _unavailable("cannot record the job's end"):
            self._finish(
                keys=[
                    self.keys.live(message.job_id),
                    self.keys.stream,
                    self.keys.events(message.pipeline),
                ],
                args=[claim.fence, LIVE_TTL_S, GROUP, claim.delivery, message.job_id, *flat],
            )

    def defer(self, claim: Claim, delay_s: float, *, count_attempt: bool) -> None:
        message = claim.message
        with _unavailable("cannot defer the job"):
            self._defer(
                keys=[
                    self.keys.live(message.job_id),
                    self.keys.delayed,
                    self.keys.stream,
                    self.keys.events(message.pipeline),
                ],
                args=[
                    now_ms() + int(delay_s * 1000),
                    message.to_json(),
                    "1" if count_attempt else "0",
                    GROUP,
                    claim.delivery,
                    message.job_id,
                ],
            )

    def let_go(self, claim: Claim) -> None:
        """Shutting down mid-run: back on the queue at once (the attempt stays counted)."""
        self.defer(claim, 0.0, count_attempt=True)

    def close(self) -> None:
        self.client.close()

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From id 0: entries added while no worker ran are delivered too.
            self.client.xgroup_create(self.keys.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True


@contextlib.contextmanager
def _unavailable(doing: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise QueueUnavailable(f"job queue (Redis) unavailable: {doing}: {exc}") from exc


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _progress_fields(progress: Progress) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "stage": progress.stage.value,
        "files_done": progress.files_done,
        "rows_read": progress.rows_read,
        "partitions_written": progress.partitions_written,
    }
    if progress.files_total is not None:
        fields["files_total"] = progress.files_total
    return fields


def _record(job_id: str, fields: dict[str, str]) -> JobRecord | None:
    """The live hash as a record; None if missing or written by something we cannot read."""
    if not fields or "status" not in fields:
        return None
    try:
        pipeline = fields.get("pipeline", "")
        prefix = fields.get("prefix") or f"pipelines/{pipeline}/"
        result = json.loads(fields["result"]) if fields.get("result") else None
        return JobRecord(
            job_id=job_id,
            pipeline_prefix=prefix,
            clean_run=fields.get("clean_run", "false") == "true",
            trigger=Trigger(fields.get("trigger", Trigger.api.value)),
            status=JobStatus(fields["status"]),
            attempts=int(fields.get("attempts", 0)),
            worker=fields.get("worker") or None,
            enqueued_at=from_ms(int(fields.get("enqueued_at", 0))),
            started_at=fields.get("started_at") or None,
            finished_at=fields.get("finished_at") or None,
            progress=Progress(
                stage=Stage(fields.get("stage", Stage.queued.value)),
                files_done=int(fields.get("files_done", 0)),
                files_total=int(fields["files_total"]) if fields.get("files_total") else None,
                rows_read=int(fields.get("rows_read", 0)),
                partitions_written=int(fields.get("partitions_written", 0)),
            ),
            result=result,
            error=fields.get("error") or None,
        )
    except (ValueError, KeyError):
        log.warning("unreadable live job record", extra={"job_id": job_id})
        return None
