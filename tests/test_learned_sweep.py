"""Solver-level acceptance of the documented default recipe, as a sweep over loads.

For five materials that are not shipped (power law, plane strain and plane stress, E = 30,
200 and 10 GPa, n = 0.7, 0.3, 0.5, 0.3 and 0.3; C, D and E with ε₀ = 2e-4, so their data box
reaches 25 ε₀; B, D and E are corners of the issue's range), ``deepmanifold data generate`` +
``deepmanifold train`` with their defaults (Adam, then L-BFGS polish in the stress loss and
in the compliance norm, up to 2000 iterations each); then the plate with a hole and the
cantilever at 10–100 % of a design load on coarse meshes. Acceptance (issue 12): relative L2
displacement error ≤ 1 % against the analytic law on the same mesh at every load, Newton
iterations within one of the analytic law's, and no quadrature point outside the training
data. The fine version, over the range's eight corners, is
``python benchmarks/learned_coupling.py --only sweep`` (benchmarks/out/learned_sweep_session9_*.json).

Measured: session 7 (one stress-norm polish, coarse meshes): A ≤ 0.039 %, B ≤ 0.058 %,
C ≤ 0.29 %, D ≤ 0.96 % (no margin, not asserted then). Session 8 (two polishes, 32x32):
D ≤ 0.34 % (plate) / 0.12 % (cantilever), margin 2.9x; the corner E (E = 10 GPa, n = 0.3,
plane *stress*) missed (2.06 % on the fine plate at 100 %: under-fitted). Session 9: the
recipe's MLP is 48x48 (learned.training_defaults.MLP_HIDDEN); E on these coarse meshes
(same data, recipe and seed as the fine sweep): plate 0.013 / 0.14 / 0.20 / 0.22 / 0.44 % and
cantilever 0.029 / 0.12 / 0.034 / 0.030 / 0.0076 % at 10 / 30 / 50 / 70 / 100 %, Newton
iterations equal, no point outside the data — worst 0.44 %, margin 2.3x to the 1 % bound.
The worst of the fine sweep over ten materials is D (0.52 %, margin 1.9x;
benchmarks/out/learned_sweep_session9_w48_*.json).
The bound asserted is the issue's 1 % itself (an acceptance bound, not a tolerance fitted to
the measurement); the margin above says how far each material is from it.
"""

import sys

import numpy as np
import pytest

from conftest import ROOT, run_cli

sys.path.insert(0, str(ROOT / "benchmarks"))
from learned_coupling import (  # noqa: E402
    SWEEP_DESIGN, SWEEP_FRACTIONS, SWEEP_MATERIALS, SWEEP_MESH, SWEEP_STRAIN_RANGE, _inline, sweep_row,
)

#: D and E are the worst corners of the range (margins 1.9x / 2.3x, see above); the other corners (F–J) are in
#: the benchmark only (training costs 5–15 min each on the shared machine)
MATERIALS = ["A_E30_n0.7_strain", "B_E200_n0.3_stress", "C_E10_n0.5_stress", "D_E10_n0.3_strain",
             "E_E10_n0.3_stress"]


#: wall-clock limit of one default-recipe training [s] (run_cli's default 600 s was too short for E
#: under load: 966 s measured in the fine sweep at load average 7 on 2 cores)
TRAIN_TIMEOUT_S = 3600


@pytest.fixture(scope="module", params=MATERIALS)
def trained(request, tmp_path_factory):
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    data, model = folder / "data.h5", folder / "model.pt"
    table = _inline({"law": "power_law_elastic", **SWEEP_MATERIALS[name]})[1:-1]
    r = run_cli("data", "generate", "-o", str(data), "--material", table, "--strain-range", str(SWEEP_STRAIN_RANGE))
    assert r.returncode == 0, r.stderr
    # the documented defaults; 5–16 min on the shared 2-core machine (48x48, up to 2 x 2000 L-BFGS)
    r = run_cli("train", str(data), "-o", str(model), "-q", timeout=TRAIN_TIMEOUT_S)
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
