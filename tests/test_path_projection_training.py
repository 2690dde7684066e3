"""Issue 16, item 4: fixed-point projection *training* on path data (a law with state).

learned.projection.project_paths projects each step of an observed path onto the manifold of
the return mapping from the state committed at the previous step, M_k = {(e, σ(e; q_{k−1}))},
and commits q_k only after the step's projection has converged;
learned.projection_training.train_projection_paths alternates those projections with
refits of the learned return-mapping law along the projected paths
(``deepmanifold train --model return_mapping --projection``).
"""

import math

import numpy as np
import pytest
import torch

from conftest import cli_inprocess
from learned.paths import generate_path_dataset, run_paths
from learned.plastic_model import LearnedPlasticLaw
from learned.plasticity import J2Plasticity
from learned.projection import project_paths

torch.set_num_threads(1)
REF = J2Plasticity(200e9, 0.3, 250e6, 10e9)


def test_paths_on_the_manifold_are_fixed_points_and_the_state_is_committed_per_step():
    """Clean J2 paths projected onto J2 itself: e* = ε and the committed states are the
    reference states (measured 0 and 0 relative, one Gauss–Newton iteration per step; tolerance
    1e-9), and the projection of a noisy path commits exactly the law's state at e* (state never
    advanced inside the Gauss–Newton iterations: replaying e* through the law gives the same
    states). With 5 % noise on ε and σ the projections are closer to the clean strains than
    the measured ones (measured ratio 0.79; asserted < 1)."""
    clean = generate_path_dataset(REF, 8, 12, "mixed", 4e-3, seed=3)
    p = project_paths(REF, clean.strain, clean.stress)
    assert p.converged
    assert np.abs(p.strain - clean.strain).max() <= 1e-9 * np.abs(clean.strain).max()
    assert np.abs(p.state - clean.state).max() <= 1e-9 * np.abs(clean.state).max()
    assert clean.state[:, :, 4].max() > 0  # the paths yield
    noisy = generate_path_dataset(REF, 8, 12, "mixed", 4e-3, noise_strain=0.05, noise_stress=0.05, seed=3)
    q = project_paths(REF, noisy.strain, noisy.stress)
    stress, state = run_paths(REF, q.strain)
    np.testing.assert_array_equal(state, q.state)
    np.testing.assert_array_equal(stress, q.stress)
    # the projection moves the noisy strains towards the clean ones (ε and σ both noisy)
    assert np.linalg.norm(q.strain - clean.strain) < np.linalg.norm(noisy.strain - clean.strain)


@pytest.mark.slow
def test_cli_trains_return_mapping_by_projection_on_paths(tmp_path):
    """``train --model return_mapping --projection`` on a path data set: a checkpoint that
    loads as a law with state, a report with the outer iterations (tiny budget: wiring only;
    ~1 min, the return mappings of a barely trained model take many iterations)."""
    j2 = 'law="j2_plasticity", E=200e9, nu=0.3, yield_stress=250e6, hardening=10e9'
    data = tmp_path / "paths.h5"
    code, _, err = cli_inprocess("data", "generate", "-o", str(data), "--material", j2, "--paths", "8",
                                 "--steps", "6", "--strain-range", "4e-3", "--noise-strain", "0.02",
                                 "--noise-stress", "0.02")
    assert code == 0, err
    out = tmp_path / "m.pt"
    code, text, err = cli_inprocess("train", str(data), "-o", str(out), "--model", "return_mapping", "--projection",
                                    "--outer-iterations", "2", "--epochs", "2", "--polish-iterations", "2", "-q")
    assert code == 0, err
    import json

    from learned import load_law

    report = json.loads(out.with_suffix(".json").read_text())
    assert report["method"].startswith("fixed-point projection on paths")
    assert 1 <= report["outer_iterations"] <= 2 and report["history"][0]["projection_converged"]
    law = load_law(out)
    assert isinstance(law, LearnedPlasticLaw) and law.n_state == 5


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 10 min on the loaded 2-core machine (load ~8), mostly the data-driven path
def test_projection_training_on_noisy_j2_paths_gives_a_law_for_fem_and_data_driven_solvers():
    """J2 (200 GPa, ν 0.3, σ_y 250 MPa, H 10 GPa): 30 mixed paths × 15 steps with 2 % noise on
    strain and stress; warm start 30 Adam epochs + 60 L-BFGS, then 3 outer projection
    iterations (at 2 % noise no refit improved the validation paths: 2 outer iterations, the
    second with zero change).

    Asserted, each from a measurement with its factor:
    * every path projection converged, and the projections settle (the last outer iteration
      moves them less than the first, or by less than tol). (J itself is not monotone: the
      step-wise projection is greedy in the state, and a refit is kept only where the
      validation paths improve; measured at 10 % noise 7.62e-3, 7.50e-3, 7.51e-3.)
    * stress error on 40 new clean paths: measured 0.34 %, asserted < 2 % (6x);
    * FEM (strip under an end traction 1.3 × the plane-strain yield stress, load–unload–reload,
      the learned checkpoint as the material): Newton converges in every step, corner
      displacement within 2 % (the issue's bound) of the analytic J2 law's on the whole path
      (measured 0.71 %) and on the residual after unloading (measured 0.43 %); Newton
      iterations learned [1,1,5,5,1,1,1,1,5,1];
    * the data-driven solver with history on the same strip and the learned law as the
      manifold equals FEM Newton of the learned law (measured 5.0e-9; asserted 1e-7, 20x).
    """
    from coupling.solvers.datadriven import LawProjector
    from coupling.solvers.fixed_point import Anderson
    from learned.projection_training import train_projection_paths
    from test_data_driven_history import PATH, _setup

    data = generate_path_dataset(REF, 30, 15, "mixed", 4e-3, noise_strain=0.02, noise_stress=0.02, seed=5)
    model, report = train_projection_paths(data, epochs=30, lr=2e-2, lbfgs_iterations=60, outer_iterations=3)
    hist = report["history"]
    print("projection history", hist)
    assert all(h["projection_converged"] for h in hist)
    # the fixed point settles: the projections move less than at the first outer iteration
    assert report["converged"] or hist[-1]["projection_change"] < hist[0]["projection_change"]
    law = LearnedPlasticLaw(model)
    new = generate_path_dataset(REF, 40, 15, "mixed", 4e-3, seed=77)
    stress, _ = run_paths(law, new.strain)
    err = np.linalg.norm(stress - new.stress) / np.linalg.norm(new.stress)
    print("new-path stress error", err)
    assert err < 0.02

    traction = 1.3 * 250e6 / math.sqrt(1 - 0.3 + 0.09)
    curves = {}
    for name, material in (("analytic", REF), ("learned", law)):
        fem_problem, dd = _setup(material, traction)
        u = []
        for lam in PATH:
            fem_problem.solve(load_factors=[lam], rtol=1e-10, atol=1e-14 * traction)  # raises if Newton fails
            u.append(fem_problem.u.x.array.copy())
        assert len(fem_problem.stats.newton_iterations) == len(PATH)
        curves[name] = np.array(u)
        if name == "learned":
            projector = LawProjector(law, law.reference_stiffness(), tol=1e-13)
            u_dd = []
            results = dd.solve_path(projector, PATH, lambda: Anderson(depth=5), rtol=1e-11, max_iterations=300,
                                    on_step=lambda k, r: u_dd.append(dd.u.x.array.copy()))
            assert all(r.fixed_point.converged for r in results)
            dd_diff = np.abs(np.array(u_dd) - curves[name]).max() / np.abs(curves[name]).max()
            print("data-driven vs FEM Newton, learned law", dd_diff, "newton", fem_problem.stats.newton_iterations)
            assert dd_diff < 1e-7
    a, l_ = curves["analytic"], curves["learned"]
    curve = np.abs(l_ - a).max() / np.abs(a).max()
    zero = PATH.index(0.0)
    residual = np.linalg.norm(l_[zero] - a[zero]) / np.linalg.norm(a[zero])
    print("curve error", curve, "residual error", residual)
    assert np.linalg.norm(a[zero]) > 0.05 * np.abs(a).max()  # it yielded: a residual displacement remains
    assert curve < 0.02 and residual < 0.02
