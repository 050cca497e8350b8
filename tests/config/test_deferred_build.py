"""The config models build their validators on first use (`defer_build`, for start-up time):
the service's first requests validate on several threads at once, so that first use must be
safe to race (pydantic ≥ 2.14 serialises rebuilds under one lock)."""

from __future__ import annotations

import json
import subprocess
import sys

from .support import small_config

# Run in a fresh interpreter: in this one the models are long built.
_RACE = """
import json, sys, threading
from karet_worker.config.validate import validate_document
from karet_worker.config.model import SourceContainer

doc = json.loads(sys.argv[1])
bad = json.loads(sys.argv[1]); bad["mappings"][0]["source_container_id"] = "nowhere"
start = threading.Barrier(16)
results = [None] * 16

def work(i):
    start.wait()
    if i % 4 == 3:  # a nested model used on its own, as file-backed dimensions do
        SourceContainer.model_validate(doc["source_containers"][0])
        results[i] = "source"
        return
    report = validate_document(bad if i % 2 else doc)
    results[i] = [p.kind for p in report.problems]

threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


def test_first_validations_racing_on_threads_agree() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _RACE, json.dumps(small_config())],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    results = json.loads(out.stdout)
    for i, result in enumerate(results):
        if i % 4 == 3:
            assert result == "source"
        elif i % 2:
            assert result == ["dangling_reference"]
        else:
            assert result == []
