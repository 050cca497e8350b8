"""Resolving dotted lookup ids (`categories.coffee`) against the lookup forest."""

from __future__ import annotations

from collections.abc import Sequence

from karet_worker.config.model import LookupMapping


def resolve_lookup(lookups: Sequence[LookupMapping], dotted_id: str) -> LookupMapping | None:
    """The node a `lookup_ref` names, or None. Each dot descends into `children` by id."""
    nodes: Sequence[LookupMapping] = lookups
    found: LookupMapping | None = None
    for part in dotted_id.split("."):
        found = next((node for node in nodes if node.id == part), None)
        if found is None:
            return None
        nodes = found.children
    return found
