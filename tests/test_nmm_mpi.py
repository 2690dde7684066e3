"""NMM under MPI: 2 ranks give the same solution as 1 rank (subprocess mpiexec -n 2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

DRIVER = r'''
import json, sys
import numpy as np
import nmm
from learned import LinearElastic, PowerLawElastic

def build(law):
    dom = nmm.Domain.rectangle(0, 0, 2, 1, holes=[nmm.circle_polygon((1.4, 0.5), 0.15, 24)])
    mesh = nmm.CoverMesh.rectangle(-0.05, -0.05, 2.05, 1.05, 30, 16)
    m = nmm.ManifoldModel(dom, mesh, cracks=[nmm.Crack([[0, 0.5], [0.8, 0.52]])], law=law, order=1)
    m.add(nmm.Dirichlet(((2, 0), (2, 1)), ux=0.0, uy=0.0), nmm.Traction(((0, 1), (2, 1)), value=(0, 2e6)))
    return m

out = {}
for name, law in [("linear", LinearElastic(1e9, 0.25, "strain")),
                  ("nonlinear", PowerLawElastic(1e9, 0.25, 1e-3, 0.5, "strain"))]:
    r = build(law).solve(load_steps=2 if name == "nonlinear" else 1)
    pts = np.array([[0.1, 0.9], [1.0, 0.3], [0.5, 0.49], [0.5, 0.53]])
    out[name] = {"u": r.displacement(pts).ravel().tolist(), "KI": r.compute_sif()[0]["KI"],
                 "mpi_ranks": r.stats["mpi_ranks"], "iterations": r.stats["newton_iterations"]}
from mpi4py import MPI
if MPI.COMM_WORLD.rank == 0:
    json.dump(out, open(sys.argv[1], "w"))
'''


def _run(tmp_path: Path, n: int) -> dict:
    script = tmp_path / "nmm_mpi_driver.py"
    script.write_text(DRIVER)
    out = tmp_path / f"out{n}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    cmd = [sys.executable, str(script), str(out)]
    if n > 1:
        cmd = [mpiexec, "-n", str(n), *cmd]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, timeout=300)
    return json.loads(out.read_text())


@pytest.mark.mpi
def test_two_ranks_match_one(tmp_path):
    if not (shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")):
        pytest.skip("no mpiexec")
    one, two = _run(tmp_path, 1), _run(tmp_path, 2)
    for name in ("linear", "nonlinear"):
        assert one[name]["mpi_ranks"] == 1 and two[name]["mpi_ranks"] == 2
        assert one[name]["iterations"] == two[name]["iterations"]
        u1, u2 = np.array(one[name]["u"]), np.array(two[name]["u"])
        assert np.abs(u1 - u2).max() <= 1e-9 * np.abs(u1).max()
        assert abs(one[name]["KI"] / two[name]["KI"] - 1) < 1e-9
    assert one["nonlinear"]["iterations"] > 2  # Newton actually iterated
