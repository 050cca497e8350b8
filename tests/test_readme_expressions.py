"""The README's expression reference is checked against the models, so it cannot drift: one
entry per member of the `Expr` union, headed by its kinds, naming every field, with an example
that validates as that kind (and no entry for a kind that does not exist).

Format of an entry (under `## Expression reference`):

    ### `kind` [`kind` ...]        <- every kind of one model, nothing else
    prose, a field table naming each field as `field`, then one ```json example
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from karet_worker.config.model import EXPRESSION_MODELS, Expr

README = Path(__file__).parents[1] / "README.md"
EXPR: TypeAdapter[Any] = TypeAdapter(Expr)


def entries() -> dict[tuple[str, ...], str]:
    text = README.read_text()
    section = text.split("## Expression reference", 1)[1].split("\n## ", 1)[0]
    found: dict[tuple[str, ...], str] = {}
    for block in section.split("\n### ")[1:]:
        heading, _, body = block.partition("\n")
        kinds = tuple(re.findall(r"`([a-z_]+)`", heading))
        assert heading == " ".join(f"`{k}`" for k in kinds), heading
        found[kinds] = body
    return found


def test_one_entry_per_model_with_exactly_its_kinds() -> None:
    expected = {
        tuple(model.model_fields["kind"].annotation.__args__) for model in EXPRESSION_MODELS
    }
    assert set(entries()) == expected


def test_every_field_is_named_and_the_example_validates() -> None:
    by_kinds = entries()
    for model in EXPRESSION_MODELS:
        kinds = tuple(model.model_fields["kind"].annotation.__args__)
        body = by_kinds[kinds]
        for name, info in model.model_fields.items():
            if name != "kind":
                assert f"`{info.alias or name}`" in body, (kinds, name)
        examples = re.findall(r"```json\n(.*?)```", body, re.S)
        assert len(examples) == 1, kinds
        parsed = EXPR.validate_python(json.loads(examples[0]), strict=True)
        assert type(parsed) is model and parsed.kind in kinds
