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


def test_lists_and_mappings_inside_a_spec_are_read_only():
    """Lists (blocks, probes, boundary conditions) and name -> table mappings (DDA materials,
    joints) cannot be changed in place either: no change bypasses validation."""
    import copy
    import pickle

    fem = coupling.load_case("cantilever").spec
    dda = coupling.load_case("vajont").spec
    assert len(fem.boundary.dirichlet) > 0 and len(dda.blocks) > 0 and len(dda.materials) > 0
    attempts = [
        lambda: fem.boundary.dirichlet.append(fem.boundary.dirichlet[0]),
        lambda: fem.boundary.dirichlet.pop(),
        lambda: fem.boundary.dirichlet.__setitem__(0, None),
        lambda: fem.boundary.dirichlet.clear(),
        lambda: dda.blocks.__delitem__(0),
        lambda: dda.blocks.sort(key=id),
        lambda: dda.blocks[0].polygon.append((0.0, 0.0)),
        lambda: dda.materials.__setitem__("x", None),
        lambda: dda.materials.update({}),
        lambda: dda.materials.pop(next(iter(dda.materials))),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError, match="read-only"):
            attempt()
    blocks = dda.blocks
    blocks_plus = blocks + [blocks[0]]  # a new plain list: the spec is unchanged
    assert len(blocks_plus) == len(blocks) + 1 and len(dda.blocks) == len(blocks)
    assert copy.deepcopy(dda) == dda and pickle.loads(pickle.dumps(dda)) == dda
    assert isinstance(dda.model_dump()["blocks"], list)
