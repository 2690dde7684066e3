"""The normal contact dashpot (dda.Settings.contact_damping_ratio) against the damped
oscillator's closed-form restitution.

A 1 m square block (nearly rigid, E = 1e12 Pa) hits a fixed base flat at v0 = 1 m/s without
gravity: two corner contacts of stiffness p_n in parallel, each with a dashpot
c = 2ζ√(p_n m) (m_eff = m: the base is fixed), so the block sees K = 2 p_n, C = 2c and the
damping ratio ζ_b = C / (2√(K m)) = √2 ζ. A linear damped oscillator that separates where it
touched leaves with e = v_out / v_in = exp(−π ζ_b / √(1 − ζ_b²)) (ζ_b < 1), and does not come
back to the touching point for ζ_b ≥ 1.

Without the dashpot the penalty spring under the trapezoidal rule rebounds elastically
(e → 1 as Δt → 0: 0.933 / 0.966 / 0.982 at Δt = 1e-4 / 5e-5 / 2.5e-5 s, the contact period
being 4.4 ms): the DDA's own loss is O(Δt), so the dashpot is compared as e(ζ) / e(0) at the
same Δt.
"""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned

V0 = 1.0


def _rebound(zeta: float, dt: float = 5e-5, tau: float = 0.0, restitution: float | None = None) -> float:
    """Upward speed of the block after the impact over its downward speed before."""
    base = np.array([[-1, -1], [2, -1], [2, 0], [-1, 0]], float)
    gap = 0.005
    block = np.array([[0, gap], [1, gap], [1, 1 + gap], [0, 1 + gap]], float)
    s = dda.BlockSystem([base, block], fixed=[0])
    s.add_material(0, learned.LinearElastic(1e12, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(30.0))
    s.set_velocity(1, vy=-V0)
    settings = dda.Settings(duration=0.02, dt=dt, gravity=(0.0, 0.0), penalty=1e9, contact_damping_ratio=zeta,
                            contact_damping_time=tau, contact_restitution=restitution, max_displacement_ratio=0.05)
    v = np.asarray(dda.Simulation(s, settings).solve().velocity)[:, 1, 1]
    assert v.min() == pytest.approx(-V0, rel=1e-9)  # it came down at v0 (no force before the contact)
    return float(v[-1]) / V0


def test_contact_dashpot_restitution_matches_damped_oscillator():
    e0 = _rebound(0.0)
    assert e0 > 0.9  # the elastic penalty contact rebounds (measured 0.966)
    for zeta in (0.1, 0.2):
        zb = np.sqrt(2.0) * zeta
        closed_form = np.exp(-np.pi * zb / np.sqrt(1.0 - zb**2))
        # measured e(ζ)/e(0) against the closed form: 0.06 % (ζ = 0.1), 0.93 % (ζ = 0.2) at
        # Δt = 5e-5 s; tolerance 6 % (~6x the larger)
        assert _rebound(zeta) / e0 == pytest.approx(closed_form, rel=0.06)


def test_critical_contact_dashpot_stops_the_rebound():
    # ζ_b = √2 > 1: overdamped, the block stays on the base: it leaves at 8.3e-4 v0 (Δt = 5e-5 s,
    # against 0.966 v0 without the dashpot); bound 1e-2 v0 (~12x)
    assert abs(_rebound(1.0)) < 1e-2


def test_contact_damping_ratio_is_validated():
    with pytest.raises(dda.InputError, match="contact_damping_ratio"):
        dda.Settings(contact_damping_ratio=-0.1).validate()
    for bad in (0.0, 1.0, float("nan")):
        with pytest.raises(dda.InputError, match="contact_restitution"):
            dda.Settings(contact_restitution=bad).validate()
    with pytest.raises(dda.InputError, match="contact_restitution alone"):
        dda.Settings(contact_restitution=0.2, contact_damping_time=1e-3).validate()
    with pytest.raises(dda.InputError, match="contact_damping_time"):
        dda.Settings(contact_damping_time=-1e-3).validate()


def test_contact_damping_time_makes_the_restitution_independent_of_dt():
    """DDA's update v₁ = 2D/Δt − v₀ damps the contact spring like a dashpot p_n Δt/2: the
    undamped rebound rises as Δt falls (0.933 → 0.966 at Δt = 1e-4 → 5e-5 s). With
    contact_damping_time τ_c the solver adds p_n (τ_c − Δt/2), so the contact carries
    c = p_n τ_c at every Δt: two corner contacts, K = 2 p_n, C = 2 p_n τ_c, ζ_b = C/(2√(K m))
    = ω_b τ_c / 2 with ω_b = √(2 p_n / m), and e = exp(−π ζ_b/√(1 − ζ_b²))."""
    tau = 1e-4
    coarse, fine = _rebound(0.0, dt=1e-4, tau=tau), _rebound(0.0, dt=5e-5, tau=tau)
    zb = np.sqrt(2 * 1e9 / 2500.0) * tau / 2
    closed_form = np.exp(-np.pi * zb / np.sqrt(1.0 - zb**2))
    # measured: 0.8702 / 0.8700 (Δt/4, Δt/8: 0.8700 / 0.8692) against 0.8688; the two Δt agree to
    # 2e-4 (tolerance 2e-3, ~10x) while without τ_c they differ by 3.4 % (asserted below)
    assert fine == pytest.approx(coarse, rel=2e-3)
    assert coarse == pytest.approx(closed_form, rel=1.5e-2)  # measured 0.16 %; ~10x
    assert fine == pytest.approx(closed_form, rel=1.5e-2)  # measured 0.14 %
    undamped = (_rebound(0.0, dt=1e-4), _rebound(0.0, dt=5e-5))
    assert undamped[1] / undamped[0] - 1 > 0.02  # the dependence τ_c removes (measured 3.5 %)


def test_contact_damping_time_at_half_the_step_is_the_undamped_run():
    # τ_c = Δt/2 adds nothing at Δt (the update's own damping): bitwise the run without it
    assert _rebound(0.0, dt=1e-4, tau=5e-5) == _rebound(0.0, dt=1e-4)



def test_dashpot_leaves_steady_sliding_alone():
    # a block sliding down a 30° incline has no normal relative motion: the dashpot adds
    # nothing and the travel is the analytic ½ g (sin θ − cos θ tan φ) t² (the same check without
    # it: tests/test_dda_verification.py, measured 5.1e-7)
    theta, phi, g = np.radians(30.0), 20.0, 9.81
    L = 20.0
    base = np.array([[0.0, 0.0], [L * np.cos(theta), 0.0], [L * np.cos(theta), L * np.sin(theta)]])
    d, n = np.array([np.cos(theta), np.sin(theta)]), np.array([-np.sin(theta), np.cos(theta)])
    p0 = 10.0 * d
    block = np.array([p0, p0 + d, p0 + d + 0.5 * n, p0 + 0.5 * n])
    s = dda.BlockSystem([base, block], fixed=[0])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=phi))
    res = dda.Simulation(s, dda.Settings(duration=1.0, dt=0.01, contact_damping_ratio=1.0)).solve()
    travel = np.linalg.norm(res.displacement[-1, 1])
    ref = 0.5 * g * (np.sin(theta) - np.cos(theta) * np.tan(np.radians(phi)))
    assert travel == pytest.approx(ref, rel=5e-6)  # measured 5.1e-7 (as without the dashpot); ~10x


@pytest.mark.parametrize("e", [0.2, 0.5])
def test_contact_restitution_is_the_rebound_at_every_dt(e):
    """dda.Settings.contact_restitution e_n: the flat face of the block (two corner contacts,
    m_pair = m/2 each) rebounds with e_n, DDA's own update damping included, at Δt = 1e-4,
    5e-5, 2.5e-5 s (contact period ≈ 4.4 ms). Undamped the same Δt give 0.933 / 0.966 / 0.982."""
    rebounds = [_rebound(0.0, dt=dt, restitution=e) for dt in (1e-4, 5e-5, 2.5e-5)]
    # measured (e = 0.2): 0.2083 / 0.2079 / 0.2038; (e = 0.5): 0.5182 / 0.5093 / 0.5046: within
    # 4.2 % of e_n (the top-up is exact to leading order in ω_c Δt = 0.09 / 0.045 / 0.022 only);
    # tolerance 10 % (2.4x). Spread over Δt 2.2 % / 2.7 % of e_n (bound 6 %, 2.2x), where the
    # undamped contact's dissipated fraction 1 − e changes 3.7-fold over the same Δt
    for r in rebounds:
        assert r == pytest.approx(e, rel=0.10)
    assert max(rebounds) - min(rebounds) < 0.06 * e


def _corner_rebound(e: float, dt: float) -> float:
    """A square block tilted 30° falls on one corner (one contact, m_pair = m_eff = m) without
    gravity; returned: the normal (vertical) speed of the struck corner after over before."""
    base = np.array([[-3, -1], [3, -1], [3, 0], [-3, 0]], float)
    a = np.radians(30.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    sq = (np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float) - 0.5) @ rot.T
    sq += np.array([0.0, 0.005 - sq[:, 1].min()])
    s = dda.BlockSystem([base, sq], fixed=[0])
    s.add_material(0, learned.LinearElastic(1e12, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(0.0))
    s.set_velocity(1, vy=-V0)
    settings = dda.Settings(duration=0.03, dt=dt, gravity=(0.0, 0.0), penalty=1e9, contact_restitution=e,
                            max_displacement_ratio=0.05)
    res = dda.Simulation(s, settings).solve()
    v = np.asarray(res.velocity)[-1, 1]
    k = int(np.argmin(sq[:, 1]))
    r = sq[k] - sq.mean(axis=0)  # corner relative to the centroid (the rotation is small)
    v_corner_y = v[1] + v[2] * r[0]  # v_y + ω × r (z-rotation rate ω in the third column)
    return float(v_corner_y) / V0


def test_contact_restitution_of_a_corner_impact_is_independent_of_dt():
    """One corner contact: the block also spins (the contact force is off its centroid), so the
    corner's rebound is the pair restitution of the point impact (Newton: e_n of the normal
    relative velocity at the contact) only for a rigid-body impact law; the dashpot model acts
    on the mode m_eff = m, which is not the corner's effective mass 1/(1/m + r_t²/I). What is
    asserted is that it does not change with Δt (undamped it does, see above)."""
    r = [_corner_rebound(0.2, dt) for dt in (1e-4, 5e-5, 2.5e-5)]
    # measured 0.1637 / 0.1635 / 0.1634 (spread 0.15 %); bound 2 % (~13x)
    assert max(r) - min(r) < 0.02 * abs(np.mean(r))
    assert 0 < min(r) < 0.5  # it rebounds, strongly damped


def test_restitution_damping_ratio_inverts_the_oscillator_restitution():
    from dda.contact_law import restitution_damping_ratio
    for e in (0.05, 0.2, 0.5, 0.9):
        z = restitution_damping_ratio(e)
        assert np.exp(-np.pi * z / np.sqrt(1 - z * z)) == pytest.approx(e, rel=1e-12)
    assert restitution_damping_ratio(0.2) == pytest.approx(0.4559, abs=1e-4)


def test_contact_restitution_false_is_off_as_if_omitted(tmp_path):
    """``contact_restitution = false`` in a case is the key omitted (TOML has no null): a case
    that extends one with a restitution switches it off and gets the base's input without it
    (session 23: vajont.toml sets e_n = 0.2, the cases extending it kept DDA's own damping)."""
    import coupling
    from conftest import CASES

    base = tmp_path / "base.toml"
    base.write_text((CASES / "dda_incline.toml").read_text(encoding="utf-8"), encoding="utf-8")
    plain = coupling.load_case(base).spec.model_dump(mode="json")
    assert plain["dda"]["contact_restitution"] is None
    with_e = coupling.load_case(base, {"dda.contact_restitution": 0.2}).spec
    assert with_e.dda.contact_restitution == 0.2
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\n[dda]\ncontact_restitution = false\n', encoding="utf-8")
    parent = tmp_path / "parent.toml"
    parent.write_text('extends = "base.toml"\n[dda]\ncontact_restitution = 0.2\n', encoding="utf-8")
    grandchild = tmp_path / "grandchild.toml"
    grandchild.write_text('extends = "parent.toml"\n[dda]\ncontact_restitution = false\n', encoding="utf-8")
    assert coupling.load_case(parent).spec.dda.contact_restitution == 0.2
    for case in (child, grandchild):
        assert coupling.load_case(case).spec.model_dump(mode="json")["dda"] == plain["dda"]
