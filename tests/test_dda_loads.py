"""DDA point loads, line loads and fixed points, reached by a test (no shipped case uses them).

A free 1 m × 1 m block (ρ = 1000 kg/m³, m = 1000 kg per m thickness) without gravity under a
constant resultant F = 1000 N/m moves its centroid by ½ (F/m) t² = 0.125 m in 0.5 s; DDA's
constant-average-acceleration scheme is exact for constant acceleration. A fixed point
holds a block under gravity against the ½ g t² = 1.23 m of a free fall.
"""

from __future__ import annotations

import numpy as np
import pytest

import dda
from learned import LinearElastic

SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
T = 0.5
EXPECTED = 0.5 * (1000.0 / 1000.0) * T**2  # ½ (F/m) t² [m]


def _run(setup, gravity=(0.0, 0.0)) -> dda.Result:
    system = dda.BlockSystem([SQUARE.copy()])
    system.add_material(0, LinearElastic(1e9, 0.25, "strain"), 1000.0)
    setup(system)
    return dda.Simulation(system, dda.Settings(duration=T, dt=0.01, gravity=gravity)).solve()


def test_point_load_at_the_centroid_accelerates_the_block():
    """Measured: exact to round-off; tolerance 1e-9 relative."""
    result = _run(lambda s: s.add_point_load(0, (0.5, 0.5), (1000.0, 0.0)))
    ux, uy = result.displacement[-1, 0]
    assert ux == pytest.approx(EXPECTED, rel=1e-9) and abs(uy) < 1e-9 * EXPECTED


def test_line_load_on_an_edge_accelerates_the_block():
    """q = 1000 N/m² over a 1 m edge; measured 4.5e-7 relative (the block also stretches),
    tolerance 1e-5 (~20x)."""
    result = _run(lambda s: s.add_line_load(0, (1.0, 0.0), (1.0, 1.0), (1000.0, 0.0)))
    ux, uy = result.displacement[-1, 0]
    assert ux == pytest.approx(EXPECTED, rel=1e-5) and abs(uy) < 1e-5 * EXPECTED


def test_fixed_point_holds_a_block_under_gravity():
    """Measured 1.3e-8 of the free-fall distance; tolerance 1e-6 of it (~75x)."""
    free_fall = 0.5 * 9.81 * T**2
    result = _run(lambda s: s.add_fixed_point(0, (0.5, 0.5)), gravity=(0.0, -9.81))
    assert np.abs(result.displacement[-1, 0]).max() < 1e-6 * free_fall
