"""DDA geometry: polygon integrals, kinematics, block cutting, contact detection."""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned
from dda.contact_detect import broad_phase_brute, broad_phase_grid, detect
from dda.cutting import JointLine, JointSet, cut_blocks
from dda.geometry import Polygons, signed_area
from dda.kinematics import mass_matrix, move_points, point_displacement
from dda.system import system_from_cuts


def test_polygon_integrals_rectangle_and_concave():
    rect = np.array([[1, 2], [4, 2], [4, 4], [1, 4]], float)  # 3 × 2
    L = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], float)
    p = Polygons.from_list([rect, L]).props()
    assert p.area == pytest.approx([6.0, 3.0])
    np.testing.assert_allclose(p.centroid[0], [2.5, 3.0])
    np.testing.assert_allclose(p.centroid[1], [5 / 6, 5 / 6])
    assert p.sxx[0] == pytest.approx(2 * 3**3 / 12) and p.syy[0] == pytest.approx(3 * 2**3 / 12)
    assert p.sxy[0] == pytest.approx(0.0, abs=1e-12)


def test_mass_matrix_rigid_body_and_displacement_field():
    rect = np.array([[0, 0], [2, 0], [2, 1], [0, 1]], float)
    props = Polygons.from_list([rect]).props()
    M = mass_matrix(props, np.array([1000.0]))[0]
    assert M[0, 0] == pytest.approx(2000.0) and M[1, 1] == pytest.approx(2000.0)
    assert M[2, 2] == pytest.approx(1000.0 * (props.sxx[0] + props.syy[0]))  # polar moment
    D = np.array([[0.1, -0.2, 0.0, 0.01, -0.02, 0.004]])
    X, Y = np.array([0.5]), np.array([-0.25])
    u = point_displacement(D, X, Y)[0]
    assert u[0] == pytest.approx(0.1 + 0.5 * 0.01 - 0.25 * 0.002)
    assert u[1] == pytest.approx(-0.2 - 0.25 * -0.02 + 0.5 * 0.002)
    # exact rotation keeps distances
    pts = rect.copy()
    moved = move_points(pts, np.repeat(props.centroid, 4, 0), np.tile([[0, 0, 0.7, 0, 0, 0]], (4, 1)))
    assert abs(signed_area(moved)) == pytest.approx(2.0, rel=1e-12)


def test_cut_by_joint_lines_gives_convex_and_concave_blocks():
    dom = np.array([[0, 0], [6, 0], [6, 2], [2, 2], [2, 6], [0, 6]], float)  # L-shaped
    r = cut_blocks(dom, joints=[JointLine((-1, 3), (7, 3), tag=4)])
    assert len(r.polygons) == 2
    areas = sorted(signed_area(p) for p in r.polygons)
    assert areas == pytest.approx([6.0, 14.0])
    assert sum(areas) == pytest.approx(signed_area(dom))
    # the lower block is concave (6 vertices with a reflex corner), and the cut edge carries tag 4
    concave = [p for p in r.polygons if len(p) == 6]
    assert len(concave) == 1
    assert all(4 in t for t in r.edge_tags)


def test_cut_by_joint_sets_covers_domain_and_removes_slivers():
    dom = np.array([[0, 0], [10, 0], [10, 5], [0, 5]], float)
    sets = [
        JointSet(dip=60.0, spacing=2.0, tag=1),
        JointSet(dip=-30.0, spacing=1.5, trace_length=4.0, gap=1.0, random_offset=True, seed=1, tag=2),
    ]
    r = cut_blocks(dom, joint_sets=sets, min_area=0.05)
    total = sum(signed_area(p) for p in r.polygons)
    assert len(r.polygons) > 10
    assert total + 0.05 * r.slivers_removed >= 50.0 - 1e-9 and total <= 50.0 + 1e-9
    r2 = cut_blocks(dom, joint_sets=sets, min_area=0.05)  # seeded: reproducible
    assert len(r2.polygons) == len(r.polygons)
    r3 = cut_blocks(dom, joint_sets=sets, min_area=1.0)
    assert r3.slivers_removed > r.slivers_removed
    s = system_from_cuts(r)  # the blocks do not overlap
    assert s.nb == len(r.polygons)


def test_broad_phase_grid_equals_brute_force():
    rng = np.random.default_rng(0)
    c = rng.uniform(0, 50, (300, 2))
    size = rng.uniform(0.2, 2.0, (300, 1))
    bb = np.hstack([c - size, c + size])
    bb = np.vstack([bb, [[-5, -5, 60, 0]]])  # a large base block
    a = {tuple(p) for p in broad_phase_grid(bb, 0.1)}
    b = {tuple(p) for p in broad_phase_brute(bb, 0.1)}
    assert a == b and len(a) > 0
    # the same pairs in the same order (small systems take the brute-force path)
    assert np.array_equal(broad_phase_grid(bb, 0.1), broad_phase_brute(bb, 0.1))


def test_vertex_vertex_contact_resolves_to_one_contact():
    lower = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    upper = lower + [0, 1]
    polys = Polygons.from_list([lower, upper])
    c = detect(polys, np.array([[0, 1]]), d0=0.05, d_pen=0.05, edge_tag=np.full(8, -1))
    assert c.size == 2  # one per shared corner
    np.testing.assert_allclose(np.abs(c.n[:, 1]), 1.0)  # normals across the interface
    assert c.lc.sum() == pytest.approx(1.0)  # tributary lengths add up to the face
    # offset narrower block: two vertex-edge contacts
    narrow = np.array([[0.2, 1], [0.8, 1], [0.8, 2], [0.2, 2]], float)
    c = detect(Polygons.from_list([lower, narrow]), np.array([[0, 1]]), 0.05, 0.05, np.full(8, -1))
    assert c.size == 2 and np.all(c.j == 0) and c.lc.sum() == pytest.approx(0.6)


def test_cohesive_joint_holds_then_cohesionless_slides():
    th = np.radians(30.0)
    L = 20.0
    base = np.array([[0.0, 0.0], [L * np.cos(th), 0.0], [L * np.cos(th), L * np.sin(th)]])
    d, n = np.array([np.cos(th), np.sin(th)]), np.array([-np.sin(th), np.cos(th)])
    p0 = 10.0 * d
    block = np.array([p0, p0 + d, p0 + d + 0.5 * n, p0 + 0.5 * n])
    out = {}
    for c in (0.0, 1e5):
        s = dda.BlockSystem([base, block], fixed=[0])
        s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
        s.set_joint_law(learned.CoulombFriction(phi=10.0, cohesion=c, tensile_strength=c))
        res = dda.Simulation(s, dda.Settings(duration=0.3, dt=0.01)).solve()
        out[c] = np.linalg.norm(res.displacement[-1, 1])
    assert out[0.0] > 0.05 and out[1e5] < 1e-4


def test_vertex_at_a_reflex_corner_contacts_both_edges():
    """A block sliding down a 37.5° plane onto a 13.5° one (a chair hinge, a reflex corner of
    the base): its leading corner must ride onto the gentler plane, not sink through it."""
    H = np.array([10.0, 0.0])
    back, seat = np.radians(37.5), np.radians(13.5)
    top = H + 8.0 * np.array([-np.cos(back), np.sin(back)])
    end = H + 15.0 * np.array([np.cos(seat), -np.sin(seat)])
    base = np.array([[top[0], -6.0], [end[0], -6.0], end, H, top])
    d, n = np.array([np.cos(back), -np.sin(back)]), np.array([np.sin(back), np.cos(back)])
    block = np.array([H - 2 * d, H, H + 2 * n, H - 2 * d + 2 * n])
    polys = Polygons.from_list([base, block])
    c = detect(polys, np.array([[0, 1]]), d0=0.05, d_pen=0.05, edge_tag=np.full(9, -1))
    corner = polys.voff[1] + 1
    hit = {int(e) for v, e in zip(c.vtx, c.edge) if v == corner}
    assert hit == {2, 3}  # the corner touches the 13.5° edge (end -> H) and the 37.5° edge (H -> top)

    s = dda.BlockSystem([base, block], fixed=[0])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=10.0))
    sim = dda.Simulation(s, dda.Settings(duration=1.0, dt=0.01, max_displacement_ratio=0.01))
    n_seat = np.array([np.sin(seat), np.cos(seat)])
    worst = []
    sim.solve(callback=lambda info: worst.append(float(n_seat @ (sim.state.xy[corner] - H))))
    assert sim.state.xy[corner, 0] > H[0] + 0.5  # it has moved onto the 13.5° plane
    assert min(worst) > -1e-3 * sim.d0  # ... and stays on it (penalty penetration only)



def test_a_candidate_pair_with_no_vertex_near_an_edge_gives_no_contacts():
    """A broad-phase pair whose blocks are apart by more than d0 + d_pen (boxes overlapping
    the search band, but no vertex near an edge): no contacts, no error (the ranking of
    nearest edges used to fail on the empty candidate set)."""
    a = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    polys = Polygons.from_list([a, a + [1.5, 0.0]])
    c = detect(polys, np.array([[0, 1]]), d0=0.05, d_pen=0.05, edge_tag=np.full(8, -1))
    assert c.size == 0
