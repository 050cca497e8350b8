"""Queued jobs (SPEC §12): one interface, two backends, and the consumers that run them.

- `model`: JobStatus, Trigger, Stage, Progress, JobRecord (the API's job), JobMessage (payload)
- `queue`: the JobQueue protocol both backends implement; `errors`: what its calls raise
- `embedded` (no REDIS_URL) and `redis_queue` (REDIS_URL), chosen by `factory.open_queue`
- `locks`: per-pipeline locks with fences; `admission`: the process-wide run slots
- `worker`: consumer threads (`serve` and `karet-worker worker`); `direct`: `POST /jobs/run`
- `history`: `<prefix>_jobs/<job_id>.json` history objects in the store
"""
