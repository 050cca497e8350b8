"""Every knob of `Limits` is a count or a size of at least 1, checked when it is built."""

from __future__ import annotations

from dataclasses import fields

import pytest

from karet_worker.engine.limits import Limits


@pytest.mark.parametrize("name", [knob.name for knob in fields(Limits)])
def test_every_knob_below_one_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=f"Limits.{name} must be at least 1, got 0"):
        Limits(**{name: 0})


def test_the_machine_defaults_are_valid() -> None:
    limits = Limits.for_machine(cores=2)
    assert all(getattr(limits, knob.name) >= 1 for knob in fields(limits))
    assert limits.writers == 2
