"""The learned return-mapping law with state (learned/plastic_model.py).

Tolerances from the measured error with a stated factor: tangent vs central differences
(h = 1e-7 of the strain scale) measured 2.7e-8 (n = 3) and 4.3e-8 (n = 4) relative → 1e-6
(factor 23); parameter gradients through the paths (BPTT + implicit differentiation) vs
central differences (h = 1e-6) measured 3.6e-8 relative → 1e-6 (factor 28).
"""

import numpy as np
import pytest
import torch

from conftest import cli_inprocess
from learned import load_dataset, load_law
from learned.paths import generate_path_dataset, run_paths
from learned.plastic_model import DELTA, LearnedPlasticLaw, ReturnMappingModel, train_return_mapping
from learned.plasticity import J2Plasticity

torch.set_num_threads(1)
REF = J2Plasticity(200e9, 0.3, 250e6, 10e9)
S = 250e6 / 200e9  # yield strain scale


def _model(seed=0, components=3, yield_form="scaled"):
    """A model with a non-trivial (anisotropic, pressure-dependent) yield surface."""
    C = REF.reference_stiffness() if components == 3 else REF._C4
    m = ReturnMappingModel(C, 250e6, hardening=5e9, yield_form=yield_form)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        m.b[:] = 0.1 * torch.randn(components, generator=g, dtype=torch.float64)
        m.p_chol[:] += 0.2 * torch.randn(m.p_chol.numel(), generator=g, dtype=torch.float64)
    return m


def _points(n, seed, components=3):
    rng = np.random.default_rng(seed)
    state = np.zeros((n, components + 1))
    state[:, :components] = rng.normal(size=(n, components)) * S
    state[:, components] = rng.random(n) * S
    return rng.normal(size=(n, 3)) * 3 * S, state


@pytest.mark.parametrize("yield_form", ["scaled", "additive"])
@pytest.mark.parametrize("components", [3, 4])
def test_consistent_tangent_matches_finite_differences(components, yield_form):
    law = LearnedPlasticLaw(_model(0, components, yield_form))
    assert law.n_state == components + 1
    strain, state = _points(300, 1, components)
    resp = law.evaluate(strain, state)
    plastic = np.abs(resp.state - state).max(1) > 0
    assert 0.3 < plastic.mean()
    h = 1e-7 * S
    fd = np.empty((len(strain), 3, 3))
    for j in range(3):
        dp, dm = strain.copy(), strain.copy()
        dp[:, j] += h
        dm[:, j] -= h
        fd[:, :, j] = (law.stress(dp, state) - law.stress(dm, state)) / (2 * h)
    err = np.abs(fd - resp.tangent).max(axis=(1, 2)) / np.abs(resp.tangent).max(axis=(1, 2))
    assert err.max() < 1e-6, err.max()


@pytest.mark.parametrize("yield_form", ["scaled", "additive"])
def test_parameter_gradients_through_paths_match_finite_differences(yield_form):
    m = _model(1, yield_form=yield_form)
    rng = np.random.default_rng(2)
    strain = torch.as_tensor(rng.normal(size=(4, 6, 3)) * 2 * S).cumsum(1)

    def loss():
        return (m.run_paths(strain) ** 2).sum() / 1e16

    loss().backward()
    for par in (m.b, m.p_chol, m.c_chol, m.h):
        flat = par.view(-1)
        for k in range(min(2, flat.numel())):
            with torch.no_grad():
                flat[k] += 1e-6
                up = float(loss())
                flat[k] -= 2e-6
                down = float(loss())
                flat[k] += 1e-6
            fd = (up - down) / 2e-6
            ad = float(par.grad.view(-1)[k])
            assert abs(ad - fd) <= 1e-6 * max(abs(fd), 1e-3), (ad, fd)


@pytest.mark.parametrize("yield_form", ["scaled", "additive"])
@pytest.mark.parametrize("components", [3, 4])
def test_dissipation_is_positive_by_construction_on_random_walks(components, yield_form):
    """D ≥ μ s (1 − δ) ≥ Δα s (1 − δ) > 0 on every plastic step (convex yield function, Δα = μ h,
    0 < h ≤ 1; module docstring)."""
    law = LearnedPlasticLaw(_model(3, components, yield_form))
    s = float(law.model.s)
    rng = np.random.default_rng(4)
    n = 80
    strain = np.zeros((n, 3))
    state = law.initial_state(n)
    plastic_steps = 0
    for _ in range(25):
        strain = strain + rng.normal(size=(n, 3)) * 0.8 * S
        d = law.dissipation(strain, state)
        new = np.asarray(law.evaluate(strain, state).state)
        mu = new[:, components] - state[:, components]
        plastic_steps += int((mu > 0).sum())
        assert (mu >= 0).all()
        assert (d >= (1 - DELTA) * s * mu * (1 - 1e-9)).all()
        state = new
    assert plastic_steps > n


@pytest.mark.slow
def test_training_on_paths_learns_plane_strain_j2():
    """J2 paths (12 training + 3 validation, 10 steps), 15 epochs (~30 s), 4 components.

    Measured: validation loss 0.035 at the first epoch → best 0.0014 (ratio 0.04; asserted
    < 0.2), validation relative stress error 1.7 % (asserted < 5 %, margin 2.9x), hardening
    modulus 10.4 GPa vs 10 GPa (4 %; asserted < 25 %).
    """
    data = generate_path_dataset(REF, 15, 10, "mixed", 4e-3, seed=5)
    model, report = train_return_mapping(data, epochs=15, lr=2e-2, seed=0, lbfgs_iterations=0)  # Adam only
    assert model.n == 4
    first, best = report["val_loss"][0], min(report["val_loss"])
    assert best < 0.2 * first, (first, best)
    assert report["metrics"]["val_rel_error"] < 0.05
    assert abs(report["parameters"]["hardening"] / 10e9 - 1) < 0.25
    # the learned law dissipates and runs the same paths as the training loss did
    law = LearnedPlasticLaw(model)
    stress, state = run_paths(law, data.strain)
    with torch.no_grad():
        np.testing.assert_allclose(stress, model.run_paths(torch.as_tensor(data.strain)).numpy(),
                                   rtol=0, atol=1e-9 * np.abs(stress).max())
    assert (np.diff(state[:, :, 4], axis=1) >= 0).all()


def test_cli_trains_return_mapping_on_paths_and_the_checkpoint_is_a_law_with_state(tmp_path):
    j2 = 'law="j2_plasticity", E=200e9, nu=0.3, yield_stress=250e6, hardening=10e9'
    data = tmp_path / "paths.h5"
    code, _, err = cli_inprocess("data", "generate", "-o", str(data), "--material", j2, "--paths", "10",
                                 "--steps", "8", "--strain-range", "4e-3")
    assert code == 0, err
    out = tmp_path / "m.pt"
    code, text, err = cli_inprocess("train", str(data), "-o", str(out), "--model", "return_mapping",
                                    "--epochs", "3", "--polish-iterations", "2", "-q")
    assert code == 0, err
    assert out.is_file() and out.with_suffix(".json").is_file() and out.with_suffix(".png").is_file()
    # the closing line says the metrics come after the L-BFGS polish: the epoch lines are Adam's, and
    # best_val_loss (1.3e-6 for the shipped plate model) sat below the last epoch's (2.9e-3) unexplained
    assert "after 3 Adam epochs and an L-BFGS polish of " in text, text
    law = load_law(out)
    assert isinstance(law, LearnedPlasticLaw) and law.n_state == 5  # plane strain: εᵖ with zz, α
    paths = load_dataset(data)
    stress, _ = run_paths(law, paths.strain)
    assert np.isfinite(stress).all()
    # the data-driven manifold takes a law with state (projection from the committed state)
    from conftest import CASES

    code, _, err = cli_inprocess("check", str(CASES / "data_driven_plate.toml"), "--set",
                                 f'data={{kind="manifold", law={{law="checkpoint", path="{out}", device="cpu"}}}}')
    assert code == 0, err
    assert law.model.yield_form == "additive"  # the default form (docs/plasticity.md)
    # model / data mismatches: one line, exit 2, nothing written
    for args, word in [((str(data), "--model", "mlp"), "return_mapping")]:
        code, _, err = cli_inprocess("train", *args, "-o", str(tmp_path / "x.pt"))
        assert code == 2 and word in err and not (tmp_path / "x.pt").exists()
    points = tmp_path / "points.h5"
    assert cli_inprocess("data", "generate", "-o", str(points), "--material", j2, "-n", "50")[0] == 0
    code, _, err = cli_inprocess("train", str(points), "-o", str(tmp_path / "x.pt"), "--model", "return_mapping")
    assert code == 2 and "path data set" in err and not (tmp_path / "x.pt").exists()


def test_fem_strip_with_the_learned_law_matches_its_point_driver():
    """The learned law in the FEM (state committed at convergence, consistent tangent):
    homogeneous strip, load–unload, equal to the material-point driver (measured 1e-12)."""
    import math

    from test_fem_plasticity import PATH, _point_driver, _strip

    # orthotropic yield surface (von Mises in plane strain + a pressure term, no normal–shear
    # coupling): a uniaxial traction gives no plastic shear, so the strip stays homogeneous
    from learned.plastic_model import _mises_matrix

    m = ReturnMappingModel(REF.reference_stiffness(), 250e6, hardening=5e9, yield_matrix=_mises_matrix(0.3))
    with torch.no_grad():
        m.b[:] = torch.tensor([0.05, 0.05, 0.0], dtype=torch.float64)
    law = LearnedPlasticLaw(m)
    traction = 1.3 * 250e6 / math.sqrt(1 - 0.3 + 0.09)
    problem, corner = _strip(law, traction)
    u = []
    for lam in PATH:
        problem.solve(load_factors=[lam], rtol=1e-10, atol=1e-14 * traction)
        u.append(problem.u.x.array.reshape(-1, 2)[corner].copy())
    eps = _point_driver(law, [np.array([lam * traction, 0.0, 0.0]) for lam in PATH], traction)
    ref = np.c_[eps[:, 0], eps[:, 1] * 0.25]
    assert np.abs(np.array(u) - ref).max() < 1e-10 * np.abs(ref).max()
    assert max(problem.stats.newton_iterations) <= 8
    assert problem.law_state[:, 3].max() > 0  # it yielded


def test_isotropic_yield_surface_is_isotropic_and_survives_a_checkpoint(tmp_path):
    """isotropic=True: f depends on σ only through (q, p) — the same under a rotation of the
    in-plane axes — and a checkpoint reloads the same law (round-off: 0 difference)."""
    from learned.checkpoint import save_checkpoint

    m = ReturnMappingModel(REF._C4, 250e6, hardening=5e9, isotropic=True)
    with torch.no_grad():
        m.iso[:] = torch.tensor([0.3, -1.0, 0.4], dtype=torch.float64)  # pressure-dependent, with a p² term
    rng = np.random.default_rng(3)
    sig = torch.as_tensor(rng.normal(size=(20, 4)) * 250e6)
    t = 0.7  # rotate the in-plane stress by t
    c, s = np.cos(t), np.sin(t)
    sxx, syy, sxy = sig[:, 0], sig[:, 1], sig[:, 3]
    rot = torch.stack([c * c * sxx + s * s * syy + 2 * c * s * sxy, s * s * sxx + c * c * syy - 2 * c * s * sxy,
                       sig[:, 2], (syy - sxx) * c * s + (c * c - s * s) * sxy], dim=1)
    alpha = torch.zeros(20, dtype=torch.float64)
    with torch.no_grad():
        f1, f2 = m.yield_parts(sig, alpha)[0], m.yield_parts(rot, alpha)[0]
    np.testing.assert_allclose(f1.numpy(), f2.numpy(), rtol=1e-12, atol=1e-12)
    save_checkpoint(tmp_path / "iso.pt", m, {"kind": "constitutive"})
    law = load_law(tmp_path / "iso.pt")
    assert law.model.isotropic
    eps, state = _points(30, 4, components=4)
    a, b = law.evaluate(eps, state), LearnedPlasticLaw(m).evaluate(eps, state)
    np.testing.assert_array_equal(a.stress, b.stress)
    np.testing.assert_array_equal(a.state, b.state)


def test_scaled_yield_form_contains_plane_strain_j2_with_linear_hardening_exactly():
    """With C = J2's, s = σ_y, P = (1 − δ²)·(von Mises form), b = 0 and H = J2's H, the "scaled"
    form is J2 with linear isotropic hardening: R = k on the surface gives q = σ_y + Hα and
    Δᾱ = Δα (module docstring). Along 40 mixed paths to 4 yield strains: measured stress
    difference 3e-15 relative (round-off); tolerance 1e-10. The "additive" form with the same
    parameters is off by 0.1-1 % (its hardening curve is not linear): asserted > 1e-4, so the
    test can tell the two apart."""
    from learned.plastic_model import _MISES4

    p = (1 - DELTA**2) * _MISES4.numpy()
    strain = generate_path_dataset(REF, 40, 25, "mixed", 4 * S, seed=5).strain
    ref, ref_state = run_paths(REF, strain)
    assert ref_state[:, -1, -1].max() > 2 * S  # hardened well past first yield
    errs = {}
    for form in ("scaled", "additive"):
        # isotropic surface: P = a·(von Mises form) + c·(volume form), b = β m/3; a = 1 − δ², c ≈ 0, β = 0
        m = ReturnMappingModel(REF._C4, 250e6, hardening=10e9, isotropic=True, yield_form=form)
        with torch.no_grad():
            m.iso[:] = torch.tensor([np.log(np.expm1(1 - DELTA**2)), -60.0, 0.0], dtype=torch.float64)
            m.h.copy_(torch.log(torch.expm1(torch.tensor(10e9, dtype=torch.float64) / m.c_scale)))
            assert torch.allclose(m.yield_matrix(), torch.as_tensor(p), rtol=0, atol=1e-14)
            assert abs(float(m.hardening()) - 10e9) < 1e-3
        stress, _ = run_paths(LearnedPlasticLaw(m), strain)
        errs[form] = float(np.linalg.norm(stress - ref) / np.linalg.norm(ref))
    print(errs)
    assert errs["scaled"] < 1e-10
    assert errs["additive"] > 1e-4
