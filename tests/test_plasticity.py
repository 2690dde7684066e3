"""Elastoplastic reference laws (learned/plasticity.py): tangents, closed forms, dissipation.

Tolerances are relative to the magnitude compared, set ~10x above the measured error:
* consistent tangent vs central differences (h = 1e-7 of the strain scale): measured
  max relative error 1.4e-8 (J2) … 7.4e-6 (Drucker–Prager) → tolerance 1e-4;
* closed forms (backward Euler is exact on these radial / piecewise-radial paths): measured
  ≤ 7.5e-15 relative (J2 shear 3.5e-16, uniaxial strain 1.9e-16, Drucker–Prager shear
  1.4e-16, apex 7.5e-15) → tolerance 1e-12, round-off level with a factor ≥ 130 so that
  another BLAS / machine cannot cross it.
"""

import math

import numpy as np
import pytest

from learned.plasticity import N_STATE, DruckerPrager, J2Plasticity

E, NU = 200e9, 0.3
SY, HARD = 250e6, 10e9
G = E / (2 * (1 + NU))
K = E / (3 * (1 - 2 * NU))


def _laws():
    return {
        "j2_strain": J2Plasticity(E, NU, SY, HARD),
        "j2_stress": J2Plasticity(E, NU, SY, HARD, plane="stress"),
        "j2_perfect": J2Plasticity(E, NU, SY, 0.0),
        "dp_assoc_hardening": DruckerPrager(1e9, 0.25, 1e6, 30.0, hardening=1e8),
        "dp_assoc_stress": DruckerPrager(1e9, 0.25, 1e6, 30.0, plane="stress"),
        "dp_nonassoc": DruckerPrager(1e9, 0.25, 1e6, 30.0, dilatancy_angle=5.0),
    }


def _strain_scale(law) -> float:
    strength = law.yield_stress if isinstance(law, J2Plasticity) else law.cohesion
    return strength / law.E


def _random_points(law, n, seed):
    """Strains and old states mixing elastic and plastic points (several yield strains)."""
    rng = np.random.default_rng(seed)
    s = _strain_scale(law)
    state = np.zeros((n, N_STATE))
    state[:, :4] = rng.normal(size=(n, 4)) * s
    state[:, 4] = rng.random(n) * s
    strain = rng.normal(size=(n, 3)) * 4 * s
    return strain, state


@pytest.mark.parametrize("name", list(_laws()))
def test_consistent_tangent_matches_finite_differences(name):
    law = _laws()[name]
    strain, state = _random_points(law, 300, seed=1)
    resp = law.evaluate(strain, state)
    plastic = np.abs(resp.state - state).max(1) > 0
    assert 0.2 < plastic.mean() < 1.0 or name.endswith("stress")  # both regimes are exercised
    h = 1e-7 * _strain_scale(law)
    fd = np.empty((len(strain), 3, 3))
    for j in range(3):
        dp, dm = strain.copy(), strain.copy()
        dp[:, j] += h
        dm[:, j] -= h
        fd[:, :, j] = (law.stress(dp, state) - law.stress(dm, state)) / (2 * h)
    err = np.abs(fd - resp.tangent).max(axis=(1, 2)) / np.abs(resp.tangent).max(axis=(1, 2))
    assert err.max() < 1e-4, f"max relative tangent error {err.max():.2e}"


def test_evaluate_is_pure_and_elastic_points_keep_their_state():
    law = J2Plasticity(E, NU, SY, HARD)
    strain, state = _random_points(law, 200, seed=2)
    before = state.copy()
    resp = law.evaluate(strain, state)
    assert np.array_equal(state, before)  # the input state is never modified
    elastic = np.abs(resp.state - state).max(1) == 0
    assert elastic.any()
    ref = (np.c_[strain[:, :2], np.zeros(len(strain)), strain[:, 2]] - state[:, :4]) @ law._C4.T
    np.testing.assert_allclose(resp.stress[elastic], ref[elastic][:, [0, 1, 3]], rtol=1e-12, atol=0)


def _drive(law, path, state=None):
    """Step a law along a strain path (M,3), committing the state each step."""
    state = law.initial_state(1) if state is None else state
    stresses, states = [], []
    for eps in path:
        r = law.evaluate(eps[None, :], state)
        state = r.state
        stresses.append(r.stress[0])
        states.append(state[0])
    return np.array(stresses), np.array(states)


def test_j2_plane_strain_shear_loading_unloading_closed_form():
    """Pure shear γ: τ = Gγ up to τ_y = σ_y/√3, then slope GH/(H + 3G); unloading slope G."""
    law = J2Plasticity(E, NU, SY, HARD)
    tau_y, gamma_y = SY / math.sqrt(3), SY / math.sqrt(3) / G
    gmax = 5 * gamma_y
    slope_p = G * HARD / (HARD + 3 * G)
    tau_max = tau_y + slope_p * (gmax - gamma_y)
    gamma_p = gmax - tau_max / G  # residual plastic shear after unloading to τ = 0
    load = np.linspace(0, gmax, 21)[1:]
    unload = np.linspace(gmax, gamma_p, 21)[1:]  # elastic unloading to zero stress
    gam = np.r_[load, unload]
    tau, states = _drive(law, np.c_[0 * gam, 0 * gam, gam])
    tau_load = np.where(load <= gamma_y, G * load, tau_y + slope_p * (load - gamma_y))
    tau_unload = tau_max - G * (gmax - unload)
    exact = np.r_[tau_load, tau_unload]
    assert np.abs(tau[:, 2] - exact).max() < 1e-12 * tau_max
    assert abs(tau[-1, 2]) < 1e-12 * tau_max  # zero stress at the residual strain
    assert np.abs(tau[:, :2]).max() < 1e-12 * tau_max  # no normal stress in pure shear
    assert abs(states[-1, 3] - gamma_p) < 1e-12 * gamma_p
    assert abs(states[-1, 4] - gamma_p / math.sqrt(3)) < 1e-12 * gamma_p  # ε̄p = γp/√3
    # reloading is elastic up to the hardened yield stress τ_max, then follows the same slope
    reload = np.linspace(gamma_p, gmax + 2 * gamma_y, 21)[1:]
    tau_r, _ = _drive(law, np.c_[0 * reload, 0 * reload, reload], states[-1:].copy())
    exact_r = np.where(reload <= gmax, G * (reload - gamma_p), tau_max + slope_p * (reload - gmax))
    assert np.abs(tau_r[:, 2] - exact_r).max() < 1e-12 * tau_max


def test_j2_uniaxial_strain_yield_point_and_hardening_slope():
    """Plane strain ε = (ε, 0, 0): yield at ε_y = σ_y/(2G); slope K + 4GH/(3(3G+H)); unload K + 4G/3.

    Unloading by 1.5 ε_y stays elastic (reverse yield needs a change of q by 2 σ_Y ≥ 2 σ_y)."""
    law = J2Plasticity(E, NU, SY, HARD)
    ey = SY / (2 * G)
    emax = 4 * ey
    path = np.r_[np.linspace(0, emax, 17)[1:], np.linspace(emax, emax - 1.5 * ey, 17)[1:]]
    sig, _ = _drive(law, np.c_[path, 0 * path, 0 * path])
    m = K + 4 * G / 3
    slope = K + 4 * G * HARD / (3 * (3 * G + HARD))
    up = path[:16]
    load = np.where(up <= ey, m * up, m * ey + slope * (up - ey))
    smax = m * ey + slope * (emax - ey)
    exact = np.r_[load, smax - m * (emax - path[16:])]
    assert np.abs(sig[:, 0] - exact).max() < 1e-12 * smax


def test_drucker_prager_shear_without_dilatancy_closed_form():
    """ψ = 0, H = 0: pure shear keeps p = 0; τ_y = √((ξc)² − δ²), perfectly plastic, unload with G."""
    law = DruckerPrager(1e9, 0.25, 1e6, 30.0, dilatancy_angle=0.0)
    g = law.G
    tau_y = math.sqrt((law.xi * law.cohesion) ** 2 - law.delta**2)
    gy = tau_y / g
    gam = np.r_[np.linspace(0, 6 * gy, 25)[1:], np.linspace(6 * gy, -2 * gy, 33)[1:]]
    sig, states = _drive(law, np.c_[0 * gam, 0 * gam, gam])
    load = np.minimum(g * gam[:24], tau_y)
    unload = tau_y - g * (6 * gy - gam[24:])
    exact = np.r_[load, np.maximum(unload, -tau_y)]  # reverse yielding at −τ_y
    assert np.abs(sig[:, 2] - exact).max() < 1e-12 * tau_y
    assert np.abs(states[:, :3]).max() < 1e-12 * gy  # no plastic volume change, no ε^p_xx
    # residual shear strain after unloading to τ = 0: γ_max − τ_y / G
    k0 = 24 + int(np.argmin(np.abs(sig[24:, 2])))
    assert abs(states[23, 3] - (6 * gy - tau_y / g)) < 1e-12 * gy
    assert abs(sig[k0, 2]) < g * (gam[0] + 1e-12)


def test_drucker_prager_apex_in_hydrostatic_tension_and_elastic_in_compression():
    """3D ε = (e, e, e, 0): compression stays elastic; tension yields at p = (ξc − δ)/η."""
    law = DruckerPrager(1e9, 0.25, 1e6, 30.0)
    p_apex = (law.xi * law.cohesion - law.delta) / law.eta
    ev_y = p_apex / law.K  # volumetric strain at yield
    e = np.linspace(-5, 5, 41) * ev_y / 3
    strain4 = np.c_[e, e, e, 0 * e]
    s4, _, st = law.evaluate_3d(strain4, law.initial_state(len(e)))
    p = s4[:, :3].mean(1)
    exact = np.minimum(law.K * 3 * e, p_apex)
    assert np.abs(p - exact).max() < 1e-12 * p_apex
    assert np.abs(s4[:, :3] - p[:, None]).max() < 1e-12 * p_apex  # stays hydrostatic
    assert (st[e < 0] == 0).all()


@pytest.mark.parametrize("name", ["j2_strain", "j2_stress", "dp_assoc_hardening", "dp_nonassoc"])
def test_dissipation_is_non_negative_on_every_step_of_random_walks(name):
    law = _laws()[name]
    rng = np.random.default_rng(3)
    n, steps = 60, 30
    s = _strain_scale(law)
    strain = np.zeros((n, 3))
    state = law.initial_state(n)
    d_min, d_sum, plastic_steps = np.inf, 0.0, 0
    for _ in range(steps):
        strain = strain + rng.normal(size=(n, 3)) * 0.7 * s
        d = law.dissipation(strain, state)
        new = law.evaluate(strain, state).state
        plastic_steps += int((new[:, 4] > state[:, 4]).sum())
        # round-off floor: a few ulps of the stored energy density scale E s²
        d_min = min(d_min, float((d / (law.E * s * s)).min()))
        d_sum += d.sum()
        state = new
    assert plastic_steps > n  # the walks do yield, many times
    assert d_min > -1e-12, f"min dissipation / (E s²) = {d_min:.3e}"
    assert d_sum > 0


def test_j2_dissipation_equals_yield_stress_times_plastic_increment():
    law = J2Plasticity(E, NU, SY, HARD)
    strain, state = _random_points(law, 200, seed=4)
    d = law.dissipation(strain, state)
    d_alpha = law.evaluate(strain, state).state[:, 4] - state[:, 4]
    # measured 9.5e-15 relative to the largest σ_y Δα → 1e-12 (round-off level, factor 100)
    assert np.abs(d - SY * d_alpha).max() < 1e-12 * (SY * d_alpha).max()
    assert (d_alpha > 0).any() and (d_alpha == 0).any()


def test_torch_input_returns_torch_on_same_device():
    torch = pytest.importorskip("torch")
    law = DruckerPrager(1e9, 0.25, 1e6, 30.0)
    strain, state = _random_points(law, 50, seed=5)
    ref = law.evaluate(strain, state)
    out = law.evaluate(torch.as_tensor(strain), torch.as_tensor(state))
    assert isinstance(out.stress, torch.Tensor) and isinstance(out.state, torch.Tensor)
    np.testing.assert_array_equal(out.stress.numpy(), ref.stress)


@pytest.mark.parametrize("kwargs, word", [
    ({"yield_stress": -1.0}, "yield_stress"),
    ({"yield_stress": 1e6, "hardening": -1.0}, "hardening"),
])
def test_j2_rejects_bad_parameters(kwargs, word):
    with pytest.raises(ValueError, match=word):
        J2Plasticity(E, NU, **kwargs)


def test_drucker_prager_rejects_nonassociative_hardening_and_large_apex():
    with pytest.raises(ValueError, match="non-associative"):
        DruckerPrager(1e9, 0.25, 1e6, 30.0, dilatancy_angle=10.0, hardening=1e7)
    with pytest.raises(ValueError, match="apex_smoothing"):
        DruckerPrager(1e9, 0.25, 1e6, 30.0, apex_smoothing=1e7)
