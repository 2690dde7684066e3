"""Static NMM runs with several load steps write the load–displacement curve as FEM runs do:
summary.json ``results.load_displacement`` and ``load_displacement.png`` (listed in ``files``),
the plot only with ``output.plots``; one curve helper for every solver
(:mod:`coupling.output.load_curve`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import coupling
from conftest import CASES

SMALL = ["cover.cells=[10, 2]", "nmm.load_steps=3"]


def _run(tmp_path, name, *sets):
    out = tmp_path / name
    result = coupling.run(coupling.load_case(CASES / "nmm_cantilever.toml", [*SMALL, *sets]), out=out)
    summary = json.loads((out / "summary.json").read_text())
    present = sorted(p.name for p in out.iterdir())
    assert sorted(f.rstrip("/") for f in summary["files"]) == present  # every file listed, nothing else
    return result, summary, set(present)


def test_nmm_load_steps_write_the_load_displacement_curve(tmp_path):
    result, summary, present = _run(tmp_path, "plots")
    curve = summary["results"]["load_displacement"]
    assert curve["load_factor"] == pytest.approx([1 / 3, 2 / 3, 1.0], rel=1e-15)
    assert list(curve["probes"]) == ["tip_deflection"]  # the displacement probes only (not the stress probe)
    u = np.asarray(curve["probes"]["tip_deflection"])
    # the last step is the reported state: the same probe on the same DOFs
    assert u[-1] == summary["results"]["probes"]["tip_deflection"]["value"]
    # a linear law: u_k = λ_k u_n up to the Newton tolerance (rtol 1e-9 of the residual; 1e-6 asserted)
    np.testing.assert_allclose(u, np.asarray(curve["load_factor"]) * u[-1], rtol=1e-6)
    assert summary["units"]["load_displacement.probes.tip_deflection"] == "m"
    assert "load_displacement.png" in present and "load_displacement.png" in summary["files"]


def test_nmm_load_curve_honours_the_output_flags(tmp_path):
    _, summary, present = _run(tmp_path, "noplots", "output.plots=false", "output.fields=false")
    assert "load_displacement" in summary["results"]  # the numbers do not depend on the plot flag
    assert present == {"summary.json", "run.log"}
    _, one, _ = _run(tmp_path, "one", "nmm.load_steps=1", "output.fields=false")
    assert "load_displacement" not in one["results"] and "load_displacement.png" not in one["files"]

