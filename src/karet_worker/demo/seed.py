"""Copies the packaged demo pipeline (config + raw CSVs) into an object store."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from karet_worker.storage.base import ObjectNotFound, ObjectStore

DEMO_PREFIX = "pipelines/demo/"
CONFIG = "pipeline.json"


def demo_files() -> dict[str, bytes]:
    """Every demo object, keyed by its path relative to the pipeline prefix."""
    found: dict[str, bytes] = {}

    def walk(node: Traversable, relative: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{relative}{child.name}/")
            elif child.is_file():
                found[f"{relative}{child.name}"] = child.read_bytes()

    walk(files("karet_worker.demo") / "files", "")
    return found


def demo_config_edited(store: ObjectStore, prefix: str = DEMO_PREFIX) -> bool:
    """True when `<prefix>pipeline.json` exists and differs from the packaged demo config
    (someone edited it: seeding must not silently throw their work away)."""
    try:
        stored = store.get(prefix + CONFIG)
    except ObjectNotFound:
        return False
    return stored != demo_files()[CONFIG]


def seed_demo(
    store: ObjectStore, prefix: str = DEMO_PREFIX, *, keep_config: bool = False
) -> list[str]:
    """Write the demo config and inputs under `prefix`; returns the keys written.

    Raw inputs left from an older demo are removed so the inputs are exactly the packaged ones;
    earlier output under `clean/` is left alone (a run overwrites it). `keep_config` leaves a
    stored `pipeline.json` as it is (see `demo_config_edited`).
    """
    objects = {prefix + relative: data for relative, data in demo_files().items()}
    if keep_config:
        del objects[prefix + CONFIG]
    for key, data in objects.items():
        store.put(key, data)
    stale = [info.key for info in store.list(prefix + "raw/") if info.key not in objects]
    if stale:
        store.delete_many(stale)
    return sorted(objects)
