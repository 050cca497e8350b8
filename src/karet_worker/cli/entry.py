"""The `karet-worker` command's entry point: imports the CLI with the garbage collector paused.

Importing Polars, Pydantic (the config models) and the CLI allocates hundreds of thousands of
objects and none of them is garbage; the collections they triggered cost 0.06-0.1 s of a
0.45 s start-up (`karet-worker run` on a 250 MB input takes ~1.5 s in all). `gc.freeze()`
then keeps those objects out of every later collection.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    try:
        from karet_worker.cli.main import app
    finally:
        gc.enable()
    gc.freeze()
    app()
