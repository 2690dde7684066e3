"""A validated case cannot be changed past validation (issue 13, item 6): every table of
``case.spec`` is a frozen pydantic model, and a change goes through ``coupling.run(case,
overrides=...)`` (or ``load_case(..., overrides)``), which validates again."""

import pydantic
import pytest

import coupling


def test_spec_tables_are_read_only():
    case = coupling.load_case("cantilever")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        case.spec.fem.degree = 1
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        case.spec.material.E = -1.0  # would bypass the E > 0 check
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        case.spec.title = "changed"
    assert case.spec.fem.degree == 2 and case.spec.material.E == 30e9


def test_a_change_goes_through_validation():
    case = coupling.load_case("cantilever")
    with pytest.raises(coupling.CaseError, match="material.E"):
        coupling.run(case, overrides={"material.E": -1.0}, check=True)
    coarse = coupling.run(case, overrides={"mesh.cells": [8, 2]}, check=True).summary["size"]
    full = coupling.run(case, check=True).summary["size"]
    assert coarse != full  # the override reached the validated copy that ran
    assert case.spec.fem.degree == 2  # the Case given is not changed
