"""NMM joints (contact, friction) and output files; input validation."""

from __future__ import annotations

import numpy as np
import pytest

import nmm
from learned import CoulombFriction, LinearElastic

LAW = LinearElastic(1e9, 0.25, "stress")


def _two_blocks(tau_ratio, p=1e6):
    joint = nmm.Joint([[0, 0.53], [1, 0.53]], law=CoulombFriction(30.0))
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 8, 8), joints=[joint], law=LAW, order=1)
    m.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Traction(((0, 1), (1, 1)), value=(tau_ratio * p, -p)))
    return m


def test_joint_transfers_compression_and_shear():
    """Upper block held only by contact: σ_yy = −p and mean τ_xy = 0.3 p (< μ p) carried across."""
    p = 1e6
    m = _two_blocks(0.3, p)
    r = m.solve()
    q, s = m.asm.quad, r.stress_qp
    top = q.x[:, 1] > 0.53
    mean = lambda v: (v[top] * q.w[top]).sum() / q.w[top].sum()  # noqa: E731
    assert abs(mean(s[:, 1]) / -p - 1) < 1e-6
    assert abs(mean(s[:, 2]) / (0.3 * p) - 1) < 1e-6
    c = r.stats["contact"]
    assert c["open"] == 0 and c["stick"] > c["slide"]
    gn, _ = m.contact.jumps(r.u)
    assert gn.max() < 0  # closed everywhere, penetration ~ p / k_n
    assert np.abs(gn).max() < 1e-2 * p / LAW.E


def test_joint_opens_in_tension():
    """Pulling the upper block off a joint without tensile strength opens it: rigid lift-off."""
    joint = nmm.Joint([[0, 0.53], [1, 0.53]], law=CoulombFriction(30.0))
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 6, 6), joints=[joint], law=LAW, order=0)
    m.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Dirichlet(((0, 1), (1, 1)), ux=0.0, uy=1e-3))
    r = m.solve()
    assert r.stats["contact"]["open"] == r.stats["contact"]["points"]
    assert np.allclose(r.displacement(np.array([[0.5, 0.8]])), [[0, 1e-3]], atol=1e-12)
    assert np.abs(r.stress_qp).max() < 1e-3


def test_vtu_and_png(tmp_path):
    import meshio

    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 5, 5), cracks=[nmm.Crack([[0, 0.47], [1, 0.47]])], law=LAW, order=1)
    m.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Dirichlet(((0, 1), (1, 1)), ux=0.0, uy=1e-3))
    r = m.solve()
    vtu = r.write_vtu(tmp_path / "out" / "nmm.vtu")
    png = r.plot(tmp_path / "out" / "nmm.png")
    mesh = meshio.read(vtu)
    u = mesh.point_data["displacement"]
    assert u.shape[1] == 3 and np.isclose(u[:, 1].max(), 1e-3) and np.isclose(u[:, 1].min(), 0.0, atol=1e-15)
    assert "stress_xy" in mesh.cell_data and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [f for f in (tmp_path / "out").iterdir() if f.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"cracks": [nmm.Crack([[0.2, 0.2], [1.5, 0.2]])]}, "cracks[0].points"),
        ({"joints": [nmm.Joint([[-0.5, 0.5], [0.5, 0.5]])]}, "joints[0].points"),
        ({"cracks": [nmm.Crack([[0.2, 0.2], [0.2, 0.2]])]}, "cracks[0].points"),
        ({"order": 2}, "order"),
    ],
)
def test_input_errors(kwargs, key):
    args = dict(law=LAW, order=1)
    args.update(kwargs)
    with pytest.raises(nmm.InputError) as err:
        nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 4, 4), **args)
    assert err.value.key == key and err.value.allowed


def test_degenerate_triangle_error():
    with pytest.raises(nmm.InputError) as err:
        nmm.CoverMesh(np.array([[0, 0], [1, 0], [2, 0], [0, 1]], float), np.array([[0, 1, 2], [0, 1, 3]]))
    assert err.value.key == "mesh.triangles[0]"


def test_dynamic_free_fall_is_exact():
    """DDA implicit scheme: an unconstrained body under gravity falls u = −½ g t² (exact)."""
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 0.5), nmm.CoverMesh.rectangle(0, 0, 1, 0.5, 4, 2), law=LAW, order=1, density=2500.0)
    m.set_body_force(gravity=(0.0, -9.81))
    r = m.solve_dynamic(dt=0.01, n_steps=10, probes=np.array([[0.3, 0.2]]))
    t = r.history["time"]
    uy = r.history["probes"][:, 0, 1]
    assert np.allclose(uy, -0.5 * 9.81 * t**2, rtol=1e-8, atol=1e-14)
    assert np.allclose(r.velocity.reshape(-1, 3, 2)[:, 0, 1], -9.81 * 0.1, rtol=1e-8)


def test_sliding_friction_tangent_is_consistent():
    """The Newton matrix at sliding points includes ∂τ_max/∂σ_n (friction μ k_n Gₜᵀ Gₙ): with the
    states held, J δ equals the finite difference −(R(u + ε δ) − R(u)) / ε (the residual is affine
    in u for a linear law). Without the friction term (friction lagged) J δ misses μ k_n g_n(δ)."""
    from nmm.contact import SLIDE
    from nmm.solve import _System

    m = _two_blocks(0.3)
    u = m.solve().u  # joint in compression (σ_n ≈ p)
    sysm = _System(m)
    c = m.contact

    def residual(v):
        c.update_states(v)
        c.state[:] = SLIDE
        c.sdir[:] = 1.0
        return sysm.residual_vector(v, sysm.F_ext)
    R, resp, cvals = residual(u)
    assert (c.sigma_n > 0).all()
    A = m.asm.matrix(m.asm.element_matrices(resp.tangent), sysm.extra_values(cvals))
    rng = np.random.default_rng(0)
    d = rng.standard_normal(m.ndof) * 1e-7
    x, y = A.createVecRight(), A.createVecLeft()
    x.array[:] = d
    A.mult(x, y)
    fd = -(residual(u + d)[0] - R)
    assert np.linalg.norm(y.array - fd) < 1e-6 * np.linalg.norm(fd)


def test_window_normal_stress_is_the_mean_over_the_window():
    """σ̄_n over a window of length ℓ along the joint: the Gauss-weighted mean of the point tractions
    whose arc length lies within ℓ/2; an alternating (+1, −1) scatter about a linear profile averages
    out, the profile's mean stays; ``valid`` drops windows that reach an uncounted point."""
    m = _two_blocks(0.3)
    c = m.contact
    s = c.arc
    profile = 1e6 * (1.0 + s)
    scatter = np.where(np.argsort(np.argsort(s)) % 2 == 0, 1.0, -1.0) * 1e5
    mean, valid = c.window_normal_stress(profile + scatter, 0.47)  # ℓ/2 = 0.235 m: no point at that distance
    assert valid.all()
    inner = (s > 0.3) & (s < 0.7)
    assert np.abs(mean[inner] - profile[inner]).max() < 0.25e5  # the scatter (1e5) averages out (measured 0.21e5)
    for g in np.flatnonzero(inner)[:3]:
        win = np.abs(s - s[g]) <= 0.235
        assert mean[g] == pytest.approx((c.w[win] * (profile + scatter)[win]).sum() / c.w[win].sum(), rel=1e-12)
    counted = s > 0.5
    _, valid = c.window_normal_stress(profile, 0.47, counted)
    assert not valid[s < 0.73].any() and valid[s > 0.74].all()
