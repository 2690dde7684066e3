"""The law interface: tangents against finite differences, plane conditions, numpy/torch."""

import numpy as np
import pytest
import torch

from learned import (
    CoulombFriction,
    DisplacementWeakeningFriction,
    LinearElastic,
    PowerLawElastic,
    VelocityWeakeningFriction,
)

LAWS = {
    "linear-strain": LinearElastic(30e9, 0.25, "strain"),
    "linear-stress": LinearElastic(30e9, 0.25, "stress"),
    "power-strain": PowerLawElastic(30e9, 0.25, 1e-3, 0.4, "strain"),
    "power-stress": PowerLawElastic(30e9, 0.25, 1e-3, 0.4, "stress"),
}


def strains(n=50, scale=4e-3, seed=0):
    return np.random.default_rng(seed).normal(scale=scale, size=(n, 3))


def fd_tangent(law, eps, h=1e-9):
    cols = []
    for j in range(3):
        d = np.zeros(3)
        d[j] = h
        cols.append((law.stress(eps + d) - law.stress(eps - d)) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name", LAWS)
def test_tangent_matches_finite_differences(name):
    law = LAWS[name]
    eps = strains()
    tangent = law.evaluate(eps).tangent
    fd = fd_tangent(law, eps)
    scale = np.abs(tangent).max()
    assert np.abs(fd - tangent).max() <= 1e-6 * scale


@pytest.mark.parametrize("name", LAWS)
def test_tangent_is_symmetric_and_positive_definite(name):
    C = LAWS[name].evaluate(strains()).tangent
    assert np.allclose(C, np.swapaxes(C, 1, 2), rtol=0, atol=1e-9 * np.abs(C).max())
    assert np.linalg.eigvalsh(C).min() > 0


def test_linear_elastic_plane_stress_closed_form():
    E, nu = 200e9, 0.3
    C = LinearElastic(E, nu, "stress").reference_stiffness()
    expected = E / (1 - nu**2) * np.array([[1, nu, 0], [nu, 1, 0], [0, 0, (1 - nu) / 2]])
    assert np.allclose(C, expected, rtol=1e-12)


def test_linear_elastic_plane_strain_closed_form():
    E, nu = 200e9, 0.3
    C = LinearElastic(E, nu, "strain").reference_stiffness()
    f = E / ((1 + nu) * (1 - 2 * nu))
    expected = f * np.array([[1 - nu, nu, 0], [nu, 1 - nu, 0], [0, 0, (1 - 2 * nu) / 2]])
    assert np.allclose(C, expected, rtol=1e-12)


def test_power_law_reduces_to_linear_for_exponent_one_and_small_strain():
    eps = strains(scale=1e-7)
    lin = LinearElastic(30e9, 0.25).stress(eps)
    assert np.allclose(PowerLawElastic(30e9, 0.25, 1e-3, 1.0).stress(strains(scale=1e-2)),
                       LinearElastic(30e9, 0.25).stress(strains(scale=1e-2)), rtol=1e-12)
    assert np.allclose(PowerLawElastic(30e9, 0.25, 1e-3, 0.3).stress(eps), lin, rtol=1e-6)


def test_power_law_softens_in_shear():
    law = PowerLawElastic(30e9, 0.25, 1e-3, 0.3, "strain")
    gamma = np.array([[0, 0, 1e-4], [0, 0, 1e-2]])
    tau = law.stress(gamma)[:, 2]
    secant = tau / gamma[:, 2]
    assert secant[1] < 0.5 * secant[0]


def test_plane_stress_is_the_3d_law_at_the_eps_zz_that_frees_sigma_zz():
    """Independent of the law's own Newton: find ε_zz with σ_zz(ε_xx, ε_yy, ε_zz, γ_xy) = 0 by
    bracketing (Brent) on the 3D law, and compare the in-plane stress (tolerance 1e-9 of |σ|;
    Brent stops at 1e-15 relative in ε_zz)."""
    from scipy.optimize import brentq

    law = LAWS["power-stress"]
    eps = strains(20)
    state = law.initial_state(len(eps))
    expected = np.empty_like(eps)
    for i, (exx, eyy, gxy) in enumerate(eps):
        def szz(ezz):
            return law.evaluate_3d(np.array([[exx, eyy, ezz, gxy]]), state[i:i + 1])[0][0, 2]
        ezz = brentq(szz, -0.1, 0.1, xtol=1e-18, rtol=1e-15)
        s4 = law.evaluate_3d(np.array([[exx, eyy, ezz, gxy]]), state[i:i + 1])[0][0]
        expected[i] = s4[[0, 1, 3]]
    got = law.stress(eps)
    assert np.abs(got - expected).max() <= 1e-9 * np.abs(expected).max()
    assert np.abs(got - LAWS["power-strain"].stress(eps)).max() > 1e-2 * np.abs(expected).max()  # not plane strain


def test_plane_strain_out_of_plane_stress_is_nu_times_the_in_plane_sum():
    """Linear elasticity, ε_zz = 0: σ_zz = ν(σ_xx + σ_yy) (Hooke's law, independent of the code)."""
    nu = 0.25
    eps = strains()
    s = LAWS["linear-strain"].stress(eps)
    szz = LAWS["linear-strain"].out_of_plane_stress(eps)
    np.testing.assert_allclose(szz, nu * (s[:, 0] + s[:, 1]), rtol=1e-12, atol=1e-12 * np.abs(s).max())


@pytest.mark.parametrize("name", LAWS)
def test_numpy_and_torch_agree_and_stay_on_backend(name):
    law = LAWS[name]
    eps = strains()
    r_np = law.evaluate(eps)
    r_t = law.evaluate(torch.tensor(eps, dtype=torch.float64))
    assert isinstance(r_t.stress, torch.Tensor) and r_t.stress.dtype == torch.float64
    assert np.allclose(r_t.stress.numpy(), r_np.stress, rtol=1e-12, atol=1e-6)
    assert np.allclose(r_t.tangent.numpy(), r_np.tangent, rtol=1e-12, atol=1e-3)


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="nu"):
        LinearElastic(1e9, 0.5)
    with pytest.raises(ValueError, match="E"):
        LinearElastic(-1.0, 0.2)
    with pytest.raises(ValueError, match="shape"):
        LinearElastic(1e9, 0.2).evaluate(np.zeros((4, 2)))


def test_joint_laws():
    sn = np.array([1e6, 2e6, 0.0])
    slip = np.array([0.0, 1.0, 10.0])
    rate = np.array([0.0, 0.1, 10.0])
    c = CoulombFriction(30.0, cohesion=1e4).evaluate(sn, slip, rate)
    assert np.allclose(c.strength, 1e4 + np.tan(np.radians(30)) * sn)
    v = VelocityWeakeningFriction(26.0, 10.0, v_c=0.1).evaluate(sn, slip, rate)
    mu_p, mu_r = np.tan(np.radians(26)), np.tan(np.radians(10))
    assert np.isclose(v.friction[0], mu_p)
    assert np.isclose(v.friction[1], mu_r + (mu_p - mu_r) * np.exp(-1.0))
    assert np.isclose(v.friction[2], mu_r, rtol=1e-3)
    d = DisplacementWeakeningFriction(26.0, 10.0, slip_c=1.0).evaluate(sn, slip, rate)
    assert np.isclose(d.friction[1], mu_r + (mu_p - mu_r) * np.exp(-1.0))
    with pytest.raises(ValueError, match="phi_residual"):
        VelocityWeakeningFriction(10.0, 26.0, v_c=0.1)
