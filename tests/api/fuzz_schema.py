"""The service's OpenAPI document with its recursion bounded, so a fuzzer can generate from it.

Expressions nest (`Expr` → `IfExpr` → `Expr` ...) and lookups have `children`: generators
following such `$ref` cycles produce huge or endless bodies. Every component on a cycle is
copied once per level (`Expr__0`, `Expr__1`, ...), each level referring to the next; what would
refer past the last level is pruned: a union loses those members (the deepest `Expr` keeps
the leaf expressions), an object loses such optional properties, and a component that needs
one (a required operand) is dropped, recursively. Everything the bounded document allows, the
real one allows.

    bounded(document, levels=6)["components"]["schemas"]["Expr__5"]  # col/str/num/bool/null...
"""

from __future__ import annotations

import copy
import re
from typing import Any

PREFIX = "#/components/schemas/"
_REF = re.compile(re.escape(PREFIX) + r"(.+)")


def _refs(node: Any) -> set[str]:
    """Component names referenced anywhere under `node`."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and (match := _REF.fullmatch(ref)):
                found.add(match.group(1))
            mapping = item.get("discriminator", {}).get("mapping", {})
            found.update(m.group(1) for v in mapping.values() if (m := _REF.fullmatch(v)))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _cyclic(schemas: dict[str, Any]) -> set[str]:
    """Components from which a chain of references leads back to themselves."""
    edges = {name: _refs(schema) & schemas.keys() for name, schema in schemas.items()}
    cyclic: set[str] = set()
    for start in schemas:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            name = stack.pop()
            if name == start:
                cyclic.add(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(edges[name])
    return cyclic


def _rewrite(node: Any, rename: dict[str, str]) -> Any:
    """`node` with references to the components in `rename` pointed at their new names."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and (m := _REF.fullmatch(value)):
                out[key] = PREFIX + rename.get(m.group(1), m.group(1))
            elif key == "mapping" and isinstance(value, dict):
                out[key] = {
                    k: PREFIX + rename.get(m.group(1), m.group(1))
                    if (m := _REF.fullmatch(v))
                    else v
                    for k, v in value.items()
                }
            else:
                out[key] = _rewrite(value, rename)
        return out
    if isinstance(node, list):
        return [_rewrite(item, rename) for item in node]
    return node


def _prune(schema: dict[str, Any], missing: set[str]) -> dict[str, Any] | None:
    """`schema` without the parts that refer to `missing` components: union members and
    optional properties go; None when a required property needs one."""
    pruned = copy.deepcopy(schema)
    for union in ("oneOf", "anyOf"):
        if union in pruned:
            pruned[union] = [m for m in pruned[union] if not (_refs(m) & missing)]
            if not pruned[union]:
                return None
    if "discriminator" in pruned:
        missing_refs = {PREFIX + name for name in missing}
        mapping = pruned["discriminator"].get("mapping", {})
        pruned["discriminator"]["mapping"] = {
            k: v for k, v in mapping.items() if v not in missing_refs
        }
    properties = pruned.get("properties", {})
    for name in [n for n, p in properties.items() if _refs(p) & missing]:
        if name in pruned.get("required", []):
            return None
        del properties[name]
    return pruned


def bounded(document: dict[str, Any], levels: int = 6) -> dict[str, Any]:
    """A copy of `document` whose cyclic components nest at most `levels` references deep
    (`Expr` → `IfExpr` → `Expr` is two)."""
    out = copy.deepcopy(document)
    schemas: dict[str, Any] = out["components"]["schemas"]
    cyclic = _cyclic(schemas)
    for name in cyclic:
        original = schemas.pop(name)
        for level in range(levels):
            # The last level refers to a level that does not exist: pruned below.
            rename = {c: f"{c}__{level + 1}" for c in cyclic}
            schemas[f"{name}__{level}"] = _rewrite(original, rename)
    entry = {c: f"{c}__0" for c in cyclic}
    for name in list(schemas):
        if name.split("__")[0] not in cyclic:
            schemas[name] = _rewrite(schemas[name], entry)
    out["paths"] = _rewrite(out["paths"], entry)
    while missing := {r for s in schemas.values() for r in _refs(s)} - schemas.keys():
        for name in list(schemas):
            if _refs(schemas[name]) & missing:
                pruned = _prune(schemas[name], missing)
                if pruned is None:
                    del schemas[name]
                else:
                    schemas[name] = pruned
    dangling = _refs(out["paths"]) - schemas.keys()
    if dangling:
        raise ValueError(f"bounding removed components the paths need: {sorted(dangling)}")
    return out
