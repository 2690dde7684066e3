"""Projection onto a constitutive manifold, and fixed-point projection training on noisy data."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from learned import (
    MLP,
    NeuralLaw,
    PowerLawElastic,
    generate_dataset,
    project,
    train,
    train_projection,
)
from learned.training import cpu_threads

LAW = PowerLawElastic(30e9, 0.25, 1e-3, 0.4, "stress")
C = LAW.reference_stiffness()
C_INV = np.linalg.inv(C)


@pytest.fixture(autouse=True)
def one_thread():
    """Small batches: one CPU thread (OpenMP waits dominate on a loaded 2-core machine)."""
    with cpu_threads(1):
        yield


def phi(e, eps, sig, law):
    e = np.atleast_2d(e)
    f = law.stress(e)
    return 0.5 * ((eps - e) @ C * (eps - e)).sum(-1) + 0.5 * ((sig - f) @ C_INV * (sig - f)).sum(-1)


def off_manifold(n=200, seed=0):
    rng = np.random.default_rng(seed)
    e = rng.uniform(-2e-3, 2e-3, (n, 3))
    s = LAW.stress(e)
    return e + rng.normal(scale=2e-4, size=e.shape), s + rng.normal(scale=2e-4, size=e.shape) @ C


def neural_law():
    torch.manual_seed(0)
    return NeuralLaw(MLP(strain_scale=1e-3, stress_scale=3e7), "stress", device="cpu")


def test_points_on_the_manifold_are_fixed_points():
    e = np.random.default_rng(1).uniform(-2e-3, 2e-3, (100, 3))
    p = project(LAW, e, LAW.stress(e), C)
    assert np.abs(p.strain - e).max() <= 1e-15 and np.abs(p.distance).max() <= 1e-9 and p.converged
    law = neural_law()
    p = project(LAW, e, LAW.stress(e))  # default metric: the law's reference stiffness
    assert np.abs(p.strain - e).max() <= 1e-15
    p = project(law, e, law.stress(e), C)
    assert np.abs(p.strain - e).max() <= 1e-15 and p.converged


@pytest.mark.parametrize("which", ["analytic", "neural"])
def test_projection_reduces_distance_and_matches_brute_force(which):
    law = LAW if which == "analytic" else neural_law()
    eps, sig = off_manifold()
    p = project(law, eps, sig, C)
    assert p.converged
    # no worse than the trivial candidates e = ε and e = the clean strain
    assert (p.distance**2 / 2 <= phi(eps, eps, sig, law) + 1e-9).all()
    # stationarity and agreement with a derivative-free minimiser on a few points
    # the projected stress is the law's stress at the projected strain; measured 2e-14 of |σ|
    # per point (the two evaluations batch differently), tolerance 1e-12 of |σ|: relative, so
    # that another BLAS's round-off on 6e7 Pa stresses cannot cross it
    f = law.stress(p.strain)
    scale = np.linalg.norm(f, axis=1, keepdims=True)
    assert (np.abs(p.stress - f) <= 1e-12 * scale).all()
    for i in range(4 if which == "analytic" else 2):  # Nelder–Mead: ~10³ single-point calls each
        res = minimize(lambda x: phi(x * 1e-3, eps[i], sig[i], law), eps[i] * 1e3, method="Nelder-Mead",
                       options={"xatol": 1e-11, "fatol": 1e-12, "maxiter": 20000})
        assert np.allclose(res.x * 1e-3, p.strain[i], rtol=0, atol=1e-10)
        assert np.isclose(np.sqrt(2 * res.fun[()]), p.distance[i], rtol=1e-8)


def test_torch_and_numpy_projections_agree():
    law = neural_law()
    eps, sig = off_manifold(50)
    p_np = project(law, eps, sig, C)
    p_t = project(law, torch.tensor(eps), torch.tensor(sig), C)
    assert isinstance(p_t.strain, torch.Tensor) and isinstance(p_t.distance, torch.Tensor)
    assert np.allclose(p_t.strain.numpy(), p_np.strain, rtol=0, atol=1e-10)  # tol 1e-10 relative
    assert np.allclose(p_t.distance.numpy(), p_np.distance, rtol=1e-9)


def test_bad_metric_is_rejected():
    with pytest.raises(ValueError, match="positive-definite"):
        project(LAW, np.zeros((2, 3)), np.zeros((2, 3)), -C)
    with pytest.raises(ValueError, match="both be"):
        project(LAW, np.zeros((2, 3)), np.zeros((3, 3)), C)


def test_projection_training_beats_plain_regression_on_noisy_strain():
    """Errors-in-variables vs plain regression, judged against the clean ground truth.

    Noise 10 % of the per-component std on strain and on stress. (At 2–5 % the regression
    dilution, ≈ noise² ≤ 0.25 %, is below the variance of a 5,000-point fit and both methods
    score alike, ≈ 0.8 %; at 10 % the bias is ≈ 1 % and the difference is clear.) Both fits
    get the same extra epochs after the same warm start, so only the inputs differ: measured
    strains for regression, projections e* for the fixed-point method.
    """
    truth = PowerLawElastic(30e9, 0.25, 1e-3, 0.4, "strain")
    data = generate_dataset(truth, 5000, 2e-3, noise_strain=0.10, noise_stress=0.10, seed=10)
    test = generate_dataset(truth, 4000, 2e-3, seed=99)
    # 32x32: the width these figures were measured with (the API's default before session 11)
    common = dict(lr=1e-2, batch_size=256, seed=0, device="cpu", hidden=(32, 32))
    warm, _ = train(data, "mlp", epochs=100, **common)
    proj, rep = train_projection(data, warm, outer_iterations=4, epochs_per_iteration=30, tol=1e-3, **common)
    extra = sum(h.get("epochs_run", 0) for h in rep["history"])
    plain, _ = train(data, "mlp", epochs=100 + extra, polish_iterations=0, **common)  # same budget, measured strain

    def errors(model):
        pred = NeuralLaw(model).stress(test.strain)
        rel = np.linalg.norm(pred - test.stress) / np.linalg.norm(test.stress)
        k = (pred * test.stress).sum() / (test.stress**2).sum()  # < 1: flattened (diluted)
        return rel, k

    (e_plain, k_plain), (e_proj, k_proj) = errors(plain), errors(proj)
    assert rep["history"][-1]["projection_change"] < rep["history"][0]["projection_change"]
    # measured over three data seeds: 1.4–1.6 % vs 1.9–2.4 % (ratio 0.62–0.75); the secant
    # ratio k is 0.999–1.003 vs 0.987–0.998, but varies too much per seed to assert on
    assert e_proj < 0.85 * e_plain, (e_proj, e_plain, k_proj, k_plain)


def test_line_search_tries_several_step_lengths_in_one_law_call():
    """The backtracking line search evaluates the step lengths α, α/2, … of few pending points
    in one law call (learned.projection.BACKTRACK_ROWS): the same accepted steps as halving one
    at a time (BACKTRACK_ROWS = 1), in far fewer law calls. Measured on J2 states off the
    manifold across the yield surface (numpy law): identical strains, 214 -> 22 calls."""
    import learned.projection as lp
    from learned.plasticity import J2Plasticity

    law = J2Plasticity(70e9, 0.3, 200e6, hardening=5e9)
    Cj = law.reference_stiffness()
    rng = np.random.default_rng(0)
    e = rng.normal(scale=2e-3, size=(300, 3))
    state = np.asarray(law.initial_state(300), float)
    eps = e + rng.normal(scale=3e-4, size=e.shape)
    sig = np.asarray(law.evaluate(e, state).stress) + rng.normal(scale=3e-4, size=e.shape) @ Cj

    class Counting:
        def __init__(self):
            self.calls = 0

        def __getattr__(self, name):
            return getattr(law, name)

        def evaluate(self, strain, st=None):
            self.calls += 1
            return law.evaluate(strain, st)

    out = {}
    for rows in (1, lp.BACKTRACK_ROWS):
        counting = Counting()
        old, lp.BACKTRACK_ROWS = lp.BACKTRACK_ROWS, rows
        try:
            out[rows] = project(counting, eps, sig, Cj, state=state), counting.calls
        finally:
            lp.BACKTRACK_ROWS = old
    (one, calls_one), (batched, calls_batched) = out[1], out[lp.BACKTRACK_ROWS]
    assert one.converged and batched.converged and one.iterations == batched.iterations
    assert calls_one > 5 * one.iterations  # the line search backtracked, one law call per halving
    np.testing.assert_array_equal(batched.strain, one.strain)
    np.testing.assert_array_equal(batched.stress, one.stress)
    assert calls_batched < calls_one / 4
