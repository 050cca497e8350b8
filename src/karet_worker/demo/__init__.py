"""The demo pipeline (a spending tracker) shipped with the package, and how to seed it."""

from karet_worker.demo.seed import DEMO_PREFIX, demo_config_edited, demo_files, seed_demo

__all__ = ["DEMO_PREFIX", "demo_config_edited", "demo_files", "seed_demo"]
