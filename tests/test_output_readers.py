"""Every output file of every shipped case opens in the readers a user reaches for (issue 13,
item 1): the continuum field series (tests/test_field_files.py) and here the DDA frames,
contacts, history and summary — ParaView's ``.pvd`` collections, ``meshio.read`` and the VTK
Python wheel's XML reader for every ``.vtu``, ``h5py`` for ``history.h5``, strict JSON for
``summary.json``. A shipped case that no read-back test runs fails
:func:`test_every_shipped_case_is_read_back`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import meshio
import numpy as np
import pytest
from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader

from coupling.output.units import result_units
from coupling.runner import computed_results
from conftest import ROOT, run_cli
from test_field_files import CASES as FIELD_CASES

#: DDA cases, shortened (the writers are the same at any duration)
DDA_CASES = [
    pytest.param("dda_incline", ["dda.duration=0.2"], id="dda_incline"),
    pytest.param("vajont", ["dda.duration=0.3"], id="vajont"),
    pytest.param("vajont_10block", ["dda.duration=0.2"], id="vajont_10block", marks=pytest.mark.slow),
    pytest.param("vajont_velocity_weakening", ["dda.duration=0.2"], id="vajont_velocity_weakening",
                 marks=pytest.mark.slow),
    pytest.param("vajont_learned_friction", ["dda.duration=0.2"], id="vajont_learned_friction",
                 marks=pytest.mark.slow),
]

BLOCK_CELL_DATA = {"displacement", "velocity", "rotation_rate", "rotation", "stress", "strain", "contact_force",
                   "fixed", "material", "block_id"}


def _collection(path: Path) -> list[tuple[float, Path]]:
    text = path.read_text(encoding="utf-8")
    return [(float(t), path.parent / f) for t, f in re.findall(r'timestep="([^"]+)"[^>]*file="([^"]+)"', text)]


def _strict_json(path: Path) -> dict:
    """JSON as every parser reads it: NaN / Infinity are refused."""
    def refuse(name):
        raise ValueError(f"{path.name}: non-standard JSON constant {name}")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _vtk_cell_arrays(path: Path) -> tuple[int, set[str]]:
    reader = vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    grid = reader.GetOutput()
    data = grid.GetCellData()
    return grid.GetNumberOfCells(), {data.GetArrayName(i) for i in range(data.GetNumberOfArrays())}


def _param_ids(params) -> set[str]:
    return {p.id for p in params}


def test_every_shipped_case_is_read_back():
    """Each cases/*.toml is run by a read-back test (field files or DDA frames)."""
    shipped = {p.stem for p in (ROOT / "cases").glob("*.toml")}
    covered = {i.split("_p3")[0] for i in _param_ids(FIELD_CASES)} | _param_ids(DDA_CASES)
    assert shipped - covered == set(), "shipped cases whose output no test reads back"


@pytest.mark.parametrize("case,sets", DDA_CASES)
def test_dda_outputs_read_back(tmp_path, case, sets):
    out = tmp_path / "out"
    args = ["run", case, "-o", str(out), "-q"]
    for s in sets:
        args += ["--set", s]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    summary = _strict_json(out / "summary.json")
    assert {"blocks.pvd", "contacts.pvd", "frames/", "history.h5"} <= set(summary["files"])
    # every numeric result has its unit in summary.json (coupling.output.units)
    units, missing = result_units(computed_results(summary))  # results and not_resolved (vajont_10block)
    assert missing == [] and summary["units"] == units

    blocks = _collection(out / "blocks.pvd")
    times = [t for t, _ in blocks]
    assert len(blocks) >= 2 and all(b > a for a, b in zip(times, times[1:]))
    assert times[-1] == pytest.approx(summary["results"]["simulated_time"], rel=1e-6)
    with h5py.File(out / "history.h5", "r") as h:
        t_hist = np.asarray(h["time"])
        u_hist = np.asarray(h["displacement"][-1])  # (blocks, 2) [m], cumulative
    assert t_hist[-1] == pytest.approx(times[-1], rel=1e-6)

    first, last = meshio.read(blocks[0][1]), meshio.read(blocks[-1][1])
    assert BLOCK_CELL_DATA <= set(last.cell_data)
    assert {c.type for c in last.cells} == {"polygon"}
    n_cells = sum(len(c.data) for c in last.cells)
    assert n_cells == len(u_hist)
    ids = np.concatenate(last.cell_data["block_id"]).astype(int)
    assert sorted(ids.tolist()) == list(range(n_cells))
    # the last frame and history.h5 (two writers) hold the same block displacements
    disp = np.empty((n_cells, 2))
    disp[ids] = np.concatenate(last.cell_data["displacement"])[:, :2]
    scale = np.abs(u_hist).max()
    assert scale > 0.0 and np.abs(disp - u_hist).max() <= 1e-9 * scale
    assert not np.array_equal(first.points, last.points)

    vtk_cells, vtk_names = _vtk_cell_arrays(blocks[-1][1])
    assert vtk_cells == n_cells and BLOCK_CELL_DATA <= vtk_names

    contacts = _collection(out / "contacts.pvd")
    assert contacts and [t for t, _ in contacts][-1] == pytest.approx(times[-1], rel=1e-6)
    c = meshio.read(contacts[-1][1])
    assert {"force", "normal_force", "state"} <= set(c.point_data)
    assert len(c.points) == sum(len(b.data) for b in c.cells) >= 1
    assert _vtk_cell_arrays(contacts[-1][1])[0] == len(c.points)


def test_dda_history_names_the_unit_of_every_dimensional_dataset(tmp_path):
    """history.h5 of a DDA run: every history with a unit says it in ``attrs["units"]`` (the
    centroid displacement, the rotation and the step Δt had none, while ``centroid`` and ``time``
    had theirs)."""
    import coupling

    coupling.run("dda_incline", tmp_path / "out", overrides={"dda.duration": 0.02, "output.plots": False})
    with h5py.File(tmp_path / "out" / "history.h5", "r") as h:
        units = {k: h[k].attrs.get("units") for k in ("time", "dt", "centroid", "displacement", "rotation",
                                                      "kinetic_energy")}
        assert "[m/s]" in h["velocity"].attrs["components"]
    assert units == {"time": "s", "dt": "s", "centroid": "m", "displacement": "m", "rotation": "rad",
                     "kinetic_energy": "J/m"}


def test_nmm_dynamic_history_names_the_unit_of_every_dataset(tmp_path):
    """history.h5 of a dynamic NMM run: time, probes and the final state say their unit
    (``state/u`` [m] and ``state/velocity`` [m/s]: cover-function coefficients, the cover
    coordinates ξ, η being dimensionless) and the state's DOF layout; the state had none before
    session 18 (docs/cases.md gives them in words)."""
    import coupling

    coupling.run("nmm_cantilever_dynamic", tmp_path / "out", overrides={"nmm.duration": 0.005, "output.plots": False})
    with h5py.File(tmp_path / "out" / "history.h5", "r") as h:
        units = {k: h[k].attrs.get("units") for k in ("time", "probes/tip_deflection", "state/u", "state/velocity")}
        assert "p*2nf + 2f + c" in h["state/u"].attrs["layout"]
    assert units == {"time": "s", "probes/tip_deflection": "m", "state/u": "m", "state/velocity": "m/s"}
