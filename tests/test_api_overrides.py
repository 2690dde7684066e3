"""API: overrides are honoured (and validated) on a Case; load_case accepts shipped names."""

from __future__ import annotations

import pytest


def test_load_case_accepts_shipped_names():
    import coupling

    case = coupling.load_case("cantilever")
    assert case.path.name == "cantilever.toml" and case.solver == "fem"
    with pytest.raises(coupling.CaseError):
        coupling.load_case("no_such_case")


def test_overrides_on_a_case_are_applied_and_validated():
    import coupling

    case = coupling.load_case("cantilever", ["mesh.cells=[10, 2]"])
    coarse = coupling.run(case).results["probes"]["tip_deflection"]["value"]
    finer = coupling.run(case, overrides=["mesh.cells=[20, 2]"])
    assert finer.summary["case"]["overrides"] == {"mesh.cells": [20, 2]}
    assert finer.summary["case"]["input"]["mesh"]["cells"] == [20, 2]
    assert finer.results["probes"]["tip_deflection"]["value"] != coarse
    assert case.spec.mesh.cells == (10, 2)  # the Case given is not changed
    with pytest.raises(coupling.CaseError, match="material.nu"):
        coupling.run(case, overrides={"material.nu": 0.7})
