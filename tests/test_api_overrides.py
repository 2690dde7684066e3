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


def test_a_run_without_a_folder_has_no_field_steps():
    """docs/api.md: without a run folder field_steps() is [] and fields() raises FileNotFoundError
    (a new user's trial, session 30, read the docs as saying both raise)."""
    import coupling

    r = coupling.run("dda_incline", overrides={"dda.duration": 0.01})
    assert r.out_dir is None and r.field_steps() == []
    with pytest.raises(FileNotFoundError, match="no run folder"):
        r.fields()


def test_result_gives_the_block_frames_of_a_dda_run(tmp_path):
    """A DDA run writes its frames as blocks.pvd + frames/blocks_*.vtu: Result.fields() reads
    them (it used to say the run wrote no fields)."""
    import coupling

    r = coupling.run("dda_incline", tmp_path / "out", overrides={"dda.duration": 0.02, "dda.output_interval": 0.01})
    steps = r.field_steps()
    assert [t for t, _ in steps] == pytest.approx([0.0, 0.01, 0.02])
    assert all(f.parent.name == "frames" and f.name.startswith("blocks_") for _, f in steps)
    m = r.fields()
    assert sum(len(c.data) for c in m.cells) == 2  # the incline and the block
    assert {"displacement", "velocity", "stress", "rotation"} <= set(m.cell_data)
    disp = m.cell_data["displacement"][1][0]  # the free block: its centroid's displacement [m]
    assert disp[0] == pytest.approx(r.results["runout"], rel=1e-12)


def test_the_public_names_are_listed_before_first_use():
    """dir(coupling) and help(coupling) list load_case, run, … (they are imported lazily and
    were missing from both, so tab completion and help() showed none of the API)."""
    import subprocess
    import sys

    code = ("import coupling; names = dir(coupling); "
            "print(all(n in names for n in coupling.__all__)); "
            "import pydoc; text = pydoc.render_doc(coupling, renderer=pydoc.plaintext); "
            "print('load_case(path' in text and 'run(case' in text)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]


def _numpy_scalars(value, path="", found=None):
    """Paths of numpy scalars / arrays anywhere in a nested summary."""
    import numpy as np

    found = [] if found is None else found
    if isinstance(value, dict):
        for k, v in value.items():
            _numpy_scalars(v, f"{path}.{k}", found)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _numpy_scalars(v, f"{path}[{i}]", found)
    elif isinstance(value, (np.generic, np.ndarray)):
        found.append(path)
    return found


@pytest.mark.parametrize("case", ["cantilever", "data_driven_plate"])
def test_result_summary_holds_python_numbers(case):
    """Result.summary in Python holds what summary.json holds: plain floats. Before session 18 a
    probe's relative_error and the data-driven residual_history were np.float64, so printing
    result.results["probes"] showed 'relative_error': np.float64(0.84...)."""
    import coupling

    result = coupling.run(case)
    assert _numpy_scalars(result.summary) == []
