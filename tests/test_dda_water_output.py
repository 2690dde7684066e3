"""DDA reservoir water (Archimedes) and the result files (VTU/PVD, history.h5, PNG)."""

from __future__ import annotations

import json

import h5py
import meshio
import numpy as np
import pytest

import dda
import learned
from dda.geometry import Polygons
from dda.water import WaterLevel, water_loads

SQ = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)


def test_water_level_forms():
    assert WaterLevel(5.0)(3.0) == 5.0
    tab = WaterLevel([(0.0, 1.0), (10.0, 3.0)])
    assert tab(5.0) == pytest.approx(2.0) and tab(20.0) == pytest.approx(3.0)
    assert WaterLevel(lambda t: 2 * t)(1.5) == 3.0
    with pytest.raises(dda.InputError):
        WaterLevel([(1.0, 0.0), (0.0, 1.0)])


@pytest.mark.parametrize("level", [0.25, 0.5, 2.0])
def test_water_resultant_is_archimedes(level):
    polys = Polygons.from_list([SQ.copy()])
    c = polys.props().centroid
    F = np.zeros((1, 6))
    water_loads(polys, np.array([True]), level, 1000.0, 9.81, c, F)
    sub = min(level, 1.0)
    assert F[0, 0] == pytest.approx(0.0, abs=1e-9)
    assert F[0, 1] == pytest.approx(1000.0 * 9.81 * sub, rel=1e-12)
    # the moment about the centroid vanishes for the symmetric block
    assert F[0, 2] == pytest.approx(0.0, abs=1e-9)


def test_submerged_block_sinks_with_reduced_gravity():
    s = dda.BlockSystem([SQ])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_water(100.0)
    res = dda.Simulation(s, dda.Settings(duration=0.5, dt=0.01, max_displacement_ratio=0.05)).solve()
    a = 9.81 * (1 - 1000.0 / 2500.0)
    # exact for constant acceleration: measured at round-off (5e-15); tolerance 1e-12
    assert res.displacement[-1, 0, 1] == pytest.approx(-0.5 * a * 0.5**2, rel=1e-12)


def test_output_files(tmp_path):
    base = np.array([[-2, -1], [3, -1], [3, 0], [-2, 0]], float)
    s = dda.BlockSystem([base, SQ, SQ + [0, 1]], fixed=[0])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(30.0))
    out = tmp_path / "run"
    ticks = []
    res = dda.Simulation(
        s, dda.Settings(duration=0.1, dt=0.01, output_dir=out, output_interval=0.05, monitor_blocks=[1, 2])
    ).solve(callback=lambda info: ticks.append(info.step))
    assert ticks == list(range(1, res.stats["steps"] + 1))
    for name in ("blocks.pvd", "contacts.pvd", "history.h5", "velocity.png", "snapshots.png"):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporaries
    frames = sorted(out.glob("frames/blocks_*.vtu"))
    assert len(frames) == 3
    m = meshio.read(frames[-1])
    assert sum(len(c.data) for c in m.cells) == 3
    for field in ("displacement", "velocity", "stress", "contact_force"):
        assert field in m.cell_data
    cm = meshio.read(sorted(out.glob("frames/contacts_*.vtu"))[-1])
    assert cm.points.shape[0] >= 4 and "force" in cm.point_data
    with h5py.File(out / "history.h5") as f:
        assert f.attrs["status"] == "ok"
        assert f["centroid"].shape == (len(res.time), 3, 2)
        assert f["contacts/locked"].shape == (len(res.time),)
        assert json.loads(f.attrs["stats"])["steps"] == res.stats["steps"]
        # every history with a unit names it in attrs["units"] (velocity had only "components")
        units = {k: f[k].attrs.get("units") for k in ("time", "dt", "centroid", "displacement", "velocity",
                                                       "rotation", "kinetic_energy")}
        assert units == {"time": "s", "dt": "s", "centroid": "m", "displacement": "m", "velocity": "m/s, m/s, rad/s",
                         "rotation": "rad", "kinetic_energy": "J/m"}, units
    # the stack rests: vertical stress of the lower block ≈ −ρ g (1.5 m) within 2 %
    assert res.stress[1, 1] == pytest.approx(-2500 * 9.81 * 1.5, rel=0.02)
