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


def test_result_gives_field_arrays(tmp_path):
    import coupling

    r = coupling.run("cantilever", tmp_path / "out", overrides={"mesh.cells": [10, 2], "fem.load_steps": 2})
    assert [t for t, _ in r.field_steps()] == [0.5, 1.0]
    m = r.fields()
    # the same nodal values as the summary's maximum over the displacement dofs
    assert abs(m.point_data["displacement"]).max() == pytest.approx(r.results["max_abs_displacement"], rel=1e-14)
    assert {"stress_xx", "stress_yy", "stress_xy", "von_mises"} <= set(m.cell_data)
