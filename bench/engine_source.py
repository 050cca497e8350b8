"""Which karet-worker code a benchmark run measures, and whether it changed under the run.

Several people edit the engine in one checkout; a run that picks up half an edit measures
nothing in particular. `--snapshot` runs ours from an extracted copy of the committed `src/`
(git HEAD), put first on PYTHONPATH ahead of the editable install.
"""

from __future__ import annotations

import compileall
import hashlib
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SRC_DIR = REPO_DIR / "src"


@dataclass(frozen=True)
class EngineSource:
    commit: str  # short git HEAD
    dirty: bool  # working tree only: uncommitted changes under src/
    pythonpath: Path | None  # the snapshot's src dir, or None for the working tree

    def describe(self) -> str:
        if self.pythonpath is not None:
            return f"karet-worker @ {self.commit} (committed snapshot)"
        return f"karet-worker @ {self.commit}" + (
            " + uncommitted src/ changes" if self.dirty else ""
        )


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, check=True
    ).stdout


def head() -> str:
    try:
        return _git("rev-parse", "--short", "HEAD").strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def working_tree() -> EngineSource:
    try:
        dirty = bool(_git("status", "--porcelain", "--", "src").strip())
    except (OSError, subprocess.CalledProcessError):
        dirty = False
    return EngineSource(head(), dirty, None)


def snapshot(out_dir: Path) -> EngineSource:
    """Extract HEAD's `src/` under `out_dir/engine/<commit>/` (once per commit), compiled to
    bytecode, as a deployed service runs: without it every run of ours compiled its modules
    first (`karet-worker`'s imports: 677 vs 409 ms, `python -X importtime`)."""
    commit = head()
    dest = out_dir / "engine" / commit
    if not (dest / "src" / "karet_worker").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "src.tar"
            subprocess.run(
                ["git", "-C", str(REPO_DIR), "archive", "--format=tar", "-o", str(archive),
                 "HEAD", "src"],
                check=True,
            )  # fmt: skip
            with tarfile.open(archive) as tar:
                tar.extractall(dest, filter="data")
        compileall.compile_dir(dest / "src", quiet=1)
    return EngineSource(commit, False, dest / "src")


def fingerprint() -> str:
    """Changes whenever HEAD or any file under src/ changes (path, size, mtime)."""
    digest = hashlib.sha256(head().encode())
    for path in sorted(SRC_DIR.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
