"""The geometric overlap check of every trial DDA step (dda.overlap, StepFailure.OVERLAP).

Areas are compared with exact values (rectangles, an L) and with an independent clipper
(Sutherland–Hodgman of a polygon by a convex one) to 1e-9 of the areas compared (the fan
sum's round-off is ~1e-15 of the triangle areas: a factor of 10⁵ below). The simulation
tests: two crossed bars (edges crossed, no vertex inside: no contact measures it) are caught
with the named message on 1 and 2 ranks; blocks driven into each other with contact detection
switched off (a detection defect) are caught and the last good state kept; a resting stack is
never flagged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import dda
import learned
from conftest import ROOT, mpiexec
from dda.geometry import Polygons
from dda.overlap import CHECK_EVERY, apex_triangle_area, box_overlap_area, overlap_tolerance, pair_overlap_area
from dda_overlap_case import SETTINGS, plus_system, rect


def _clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman: ``subject`` clipped by the convex CCW polygon ``clip`` (reference)."""
    out = [tuple(p) for p in subject]
    for k in range(len(clip)):
        a, b = clip[k], clip[(k + 1) % len(clip)]
        side = lambda p: (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])  # noqa: E731
        pts, out = out, []
        for i in range(len(pts)):
            p, q = np.array(pts[i]), np.array(pts[(i + 1) % len(pts)])
            sp, sq = side(p), side(q)
            if sp >= 0:
                out.append(tuple(p))
            if (sp >= 0) != (sq >= 0):
                out.append(tuple(p + (q - p) * sp / (sp - sq)))
        if not out:
            return np.zeros((0, 2))
    return np.array(out)


def _area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)))


L_SHAPE = np.array([[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4]], float)  # [0,4]×[0,1] ∪ [0,1]×[1,4]


def test_exact_areas():
    """Crossed bars (no vertex inside), corner overlaps, a non-convex L, touching blocks."""
    polys = Polygons.from_list([rect(-5, -1, 5, 1), rect(-1, -5, 1, 5), rect(0.5, 0.5, 3, 3), L_SHAPE,
                                rect(5, -1, 7, 1), rect(4, 0, 5, 1), rect(-1, 5, 1, 6)])
    pairs = np.array([[0, 1], [0, 2], [1, 2], [3, 2], [0, 4], [3, 5], [1, 6]])
    exact = np.array([4.0, 1.25, 1.25, 1.25 + 1.0, 0.0, 0.0, 0.0])
    area = pair_overlap_area(polys, pairs)
    np.testing.assert_allclose(area, exact, rtol=1e-12, atol=1e-12 * 20.0)  # 20 m²: the bars' area
    assert np.all(area <= box_overlap_area(polys, pairs) + 1e-12)


def test_random_polygons_against_a_clipper():
    """Rotated convex polygons and an L (its two rectangles clipped separately) in random
    positions, against Sutherland–Hodgman: relative error ≤ 1e-9."""
    rng = np.random.default_rng(3)
    ang = np.linspace(0, 2 * np.pi, 7)[:-1]
    hexagon = np.stack([np.cos(ang), 1.6 * np.sin(ang)], axis=1)
    worst = 0.0
    for _ in range(60):
        th = rng.uniform(0, 2 * np.pi)
        R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        shift = rng.uniform(-2.5, 2.5, 2)
        hexa = hexagon @ R.T * rng.uniform(0.5, 3.0) + shift + 1000.0  # far from the origin
        L = L_SHAPE + 1000.0
        polys = Polygons.from_list([L, hexa])
        got = pair_overlap_area(polys, np.array([[0, 1]]))[0]
        ref = sum(_area(_clip_convex(r + 1000.0, hexa)) for r in (rect(0, 0, 4, 1), rect(0, 1, 1, 4)))
        worst = max(worst, abs(got - ref) / max(ref, _area(hexa)))
    assert worst <= 1e-9


def test_apex_triangles_with_nearly_collinear_edges_against_a_clipper():
    """Triangles with a common apex, a third of them with the second edge within 1e-13 of the
    first's line (two touching faces): the sector formula against Sutherland–Hodgman, error
    ≤ 1e-9 of the triangles' area (the measured error is ~1e-15)."""
    rng = np.random.default_rng(5)
    worst = 0.0
    for k in range(1500):
        A0, A1, B0, B1 = rng.normal(size=(4, 2))
        if k % 3 == 0:
            t = rng.uniform(-0.5, 1.5, 2)
            B0, B1 = A0 + t[0] * (A1 - A0) + 1e-13 * rng.normal(size=2), A0 + t[1] * (A1 - A0)
        A0, A1 = (A0, A1) if A0[0] * A1[1] - A0[1] * A1[0] > 0 else (A1, A0)
        B0, B1 = (B0, B1) if B0[0] * B1[1] - B0[1] * B1[0] > 0 else (B1, B0)
        got = apex_triangle_area(A0[None], A1[None], B0[None], B1[None])[0]
        P, Q = np.array([[0, 0], A0, A1]), np.array([[0, 0], B0, B1])
        ref = _area(_clip_convex(P, Q))
        worst = max(worst, abs(got - ref) / max(_area(P), _area(Q)))
    assert worst <= 1e-9


def test_tolerance_is_penetration_limit_times_smaller_perimeter():
    polys = Polygons.from_list([rect(0, 0, 10, 2), rect(0, 2, 1, 3)])
    np.testing.assert_allclose(overlap_tolerance(polys, np.array([[0, 1]]), 0.05), 0.05 * 4.0, rtol=1e-15)


def _run_case(nproc: int) -> list[dict]:
    cmd = [sys.executable, str(ROOT / "tests" / "dda_overlap_case.py")]
    if nproc > 1:
        cmd = [mpiexec(), "-n", str(nproc), *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return sorted((json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")), key=lambda r: r["rank"])


@pytest.mark.parametrize("every", [1, CHECK_EVERY])
def test_crossed_bars_diverge_with_the_pair_named(every):
    """The plus (4 m² overlap, A_tol 1.2 m²): no contact sees it; at the first checked step
    (step ``every``) the overlap check fails every Δt cut and the run diverges naming both
    blocks, the time and the area; the last accepted state is kept."""
    sim = dda.Simulation(plus_system(), dda.Settings(**SETTINGS))
    sim.overlap_check_every = every
    assert sim.detect_contacts(sim.polygons()).size == 0  # the blind spot: no contact at all
    start = sim.state.xy.copy()
    with pytest.raises(dda.SolverDivergence) as e:
        sim.solve()
    msg = str(e.value)
    assert "\n" not in msg
    assert "blocks 0 and 1 overlap by 4 m² > 1.2 m²" in msg and f"DDA diverged at step {every} (t = " in msg
    assert e.value.step == every and e.value.block == 0
    assert sim.stats["n_overlap_retries"] == sim.settings.max_retries
    assert e.value.result.status == "diverged" and e.value.last_state.step == every - 1
    # nothing moves the bars (no load, no contact): the kept state is where they were put
    np.testing.assert_allclose(e.value.last_state.xy, start, rtol=0, atol=1e-12 * 10.0)


@pytest.mark.mpi
def test_crossed_bars_same_decision_on_two_ranks():
    one = _run_case(1)
    two = _run_case(2)
    assert [r["size"] for r in two] == [2, 2]
    assert one[0]["message"] and "blocks 0 and 1 overlap by 4 m²" in one[0]["message"]
    for r in two:
        assert {k: r[k] for k in ("message", "time", "step", "block", "n_overlap_retries")} == \
            {k: one[0][k] for k in ("message", "time", "step", "block", "n_overlap_retries")}


@pytest.mark.parametrize("every", [1, CHECK_EVERY])
def test_detection_defect_is_caught_and_last_state_kept(monkeypatch, every):
    """A bar driven at 50 m/s into a crossing bar with contact detection switched off (a
    detection defect: nothing pushes back, no penetration is measured). The run ends as
    diverged naming the pair. Checked every step, Δt is cut as the overlap nears A_tol and the
    last good state overlaps by at most A_tol; checked every ``every`` steps, by at most A_tol
    plus the growth of the unchecked steps: (every − 1) × 2 m (the crossing width) × 50 m/s × Δt."""
    import dda.simulation as simulation

    monkeypatch.setattr(simulation, "detect", lambda *a, **k: simulation.Contacts.empty())
    s = dda.BlockSystem([rect(-5, -8, 5, -6), rect(-1, -5, 1, 5)])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_velocity(0, vy=50.0)
    dt = 1e-3
    sim = dda.Simulation(s, dda.Settings(duration=0.2, dt=dt, gravity=(0.0, 0.0), length_scale=5.0))
    sim.overlap_check_every = every
    with pytest.raises(dda.SolverDivergence) as e:
        sim.solve()
    polys = Polygons(e.value.last_state.xy, sim.voff)
    pair = np.array([[0, 1]])
    tol = float(overlap_tolerance(polys, pair, sim.pen_limit)[0])
    kept = float(pair_overlap_area(polys, pair)[0])
    assert 0.5 * tol < kept <= tol + (every - 1) * 2.0 * 50.0 * dt  # close to A_tol, never far past it
    assert "blocks 0 and 1 overlap by" in str(e.value) and sim.stats["n_overlap_retries"] > 0
    area = float(str(e.value).split("overlap by ")[1].split(" m²")[0])
    assert area > tol


def test_resting_stack_is_not_flagged():
    """Three blocks settling on a fixed base under gravity (contacts penetrate, within the
    limit): no step fails the overlap check; the touching pairs overlap by far less than A_tol."""
    polys = [rect(0, 0, 6, 1), rect(1, 1, 3, 2), rect(3, 1, 5, 2), rect(2, 2, 4, 3)]
    s = dda.BlockSystem(polys, fixed=[0])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    sim = dda.Simulation(s, dda.Settings(duration=0.2, dt=2e-3))
    res = sim.solve()
    assert res.status == "ok" and sim.stats["n_overlap_retries"] == 0
    assert sim.stats["max_penetration"] > 0  # the contacts do press into each other
    p = sim.polygons()
    pairs = np.array([[0, 1], [0, 2], [1, 3], [2, 3], [1, 2]])
    ratio = pair_overlap_area(p, pairs) / overlap_tolerance(p, pairs, sim.pen_limit)
    assert ratio.max() < 0.1
