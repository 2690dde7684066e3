"""Solver-level acceptance of the documented default recipe, as a sweep over loads.

For four materials that are not shipped (power law, plane strain and plane stress, E = 30,
200 and 10 GPa, n = 0.7, 0.3, 0.5 and 0.3; C and D with ε₀ = 2e-4, so their data box reaches
25 ε₀; B and D are corners of the issue's range), ``deepmanifold data generate`` +
``deepmanifold train`` with their defaults (Adam, then L-BFGS polish in the stress loss and
in the compliance norm, up to 2000 iterations each); then the plate with a hole and the
cantilever at 10–100 % of a design load on coarse meshes. Acceptance (issue 12): relative L2
displacement error ≤ 1 % against the analytic law on the same mesh at every load, Newton
iterations within one of the analytic law's, and no quadrature point outside the training
data. The fine version, over the range's eight corners, is
``python benchmarks/learned_coupling.py --only sweep`` (benchmarks/out/learned_sweep_session8.json).

Measured: session 7 (one stress-norm polish, coarse meshes): A ≤ 0.039 %, B ≤ 0.058 %,
C ≤ 0.29 %, D ≤ 0.96 % (no margin, not asserted then). Session 8 (two polishes; D on these
coarse meshes with the model the benchmark trained, the same recipe and data): D ≤ 0.34 %
(plate) / 0.12 % (cantilever), margin 2.9x, so D is asserted now. The corner E (E = 10 GPa,
n = 0.3, plane *stress*) misses the bound (2.06 % on the fine plate at 100 %: its top strain
bins are under-fitted, stress 2.0 % / tangent 8.8 %) and is not asserted (issue 12 stays
open on it).
"""

import sys

import numpy as np
import pytest

from conftest import ROOT, run_cli

sys.path.insert(0, str(ROOT / "benchmarks"))
from learned_coupling import (  # noqa: E402
    SWEEP_DESIGN, SWEEP_FRACTIONS, SWEEP_MATERIALS, SWEEP_MESH, SWEEP_STRAIN_RANGE, _inline, sweep_row,
)

#: E (benchmarks/learned_coupling.py) is measured there but not asserted here: it misses the
#: bound (2.06 %); the other corners (F–J) are in the benchmark only (training costs ~5 min each)
MATERIALS = ["A_E30_n0.7_strain", "B_E200_n0.3_stress", "C_E10_n0.5_stress", "D_E10_n0.3_strain"]


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
