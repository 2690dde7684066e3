"""Solver-level acceptance of the documented default recipe, as a sweep over loads.

For three materials that are not shipped (power law, plane strain and plane stress, E = 30,
200 and 10 GPa, n = 0.7, 0.3 and 0.5; C with ε₀ = 2e-4, so its data box reaches 25 ε₀; B is
a corner of the issue's range), ``deepmanifold data generate`` +
``deepmanifold train`` with their defaults (Adam, then 2000 L-BFGS polish iterations);
then the plate with a hole and the cantilever at 10–100 % of a design load on coarse
meshes. Acceptance (issue 12): relative L2 displacement error ≤ 1 % against the analytic law
on the same mesh at every load, Newton iterations within one of the analytic law's, and no
quadrature point outside the training data. The fine version is
``python benchmarks/learned_coupling.py --only sweep``. Measured on these coarse meshes with
the 2000-iteration polish (benchmarks/out/learned_sweep_session7.json): A ≤ 0.039 %, B ≤ 0.058 %, C ≤ 0.29 % (was 0.79 % with
500 iterations: margin 1.26x, now 3.4x), Newton counts equal, no point outside the data.
The corner D of the benchmark (E = 10 GPa, n = 0.3, plane strain) reaches 0.96 % (cantilever
at 100 %; ≤ 0.50 % elsewhere): no margin, so it is not asserted here (issue 12 stays open on it).
"""

import sys

import numpy as np
import pytest

from conftest import ROOT, run_cli

sys.path.insert(0, str(ROOT / "benchmarks"))
from learned_coupling import (  # noqa: E402
    SWEEP_DESIGN, SWEEP_FRACTIONS, SWEEP_MATERIALS, SWEEP_MESH, SWEEP_STRAIN_RANGE, _inline, sweep_row,
)

#: D (benchmarks/learned_coupling.py) is measured there but not asserted here: at 0.96 % it has
#: no margin under the 1 % bound, and a retrained model on another machine may cross it
MATERIALS = ["A_E30_n0.7_strain", "B_E200_n0.3_stress", "C_E10_n0.5_stress"]


@pytest.fixture(scope="module", params=MATERIALS)
def trained(request, tmp_path_factory):
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    data, model = folder / "data.h5", folder / "model.pt"
    table = _inline({"law": "power_law_elastic", **SWEEP_MATERIALS[name]})[1:-1]
    r = run_cli("data", "generate", "-o", str(data), "--material", table, "--strain-range", str(SWEEP_STRAIN_RANGE))
    assert r.returncode == 0, r.stderr
    r = run_cli("train", str(data), "-o", str(model), "-q")  # the documented defaults
    assert r.returncode == 0, r.stderr
    return name, model


@pytest.mark.slow
@pytest.mark.parametrize("case", ["plate", "cantilever"])
def test_default_recipe_holds_from_10_to_100_percent_of_the_design_load(trained, case):
    name, model = trained
    material = SWEEP_MATERIALS[name]
    rows = [sweep_row(case, material, model, f * SWEEP_DESIGN[name][case], SWEEP_MESH["coarse"][case])
            for f in SWEEP_FRACTIONS]
    errors = np.array([r["relative_l2_displacement_error"] for r in rows])
    assert errors.max() <= 0.01, errors  # the acceptance bound (measured: see the docstring)
    for r in rows:
        assert r["newton_iterations_learned"] <= r["newton_iterations_analytic"] + 1, r
        assert r["ood_points_outside"] == 0, r  # the design load stays inside the data
