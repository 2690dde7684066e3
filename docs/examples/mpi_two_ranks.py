"""MPI: the plate with a hole on 1 and on 2 ranks (`mpiexec -n 2`), same answer.

The shipped case `cases/plate_hole.toml` (quarter plate, d/W = 0.1, plane stress, remote
tension S = 100 MPa, P2) is run once in this process and once under `mpiexec -n 2` through
the CLI. The hole-edge probe σ_yy(a, 0) = Kt S (finite-width reference Kt ≈ 3.04) is
partition independent (a point on a shared entity takes the mean over the cells touching it),
so the two runs agree to round-off. The figure shows σ_yy [MPa] along the ligament y = 0
from the 2-rank field file against Kirsch's infinite plate,

    σ_yy(x, 0) = S (1 + a²/(2x²) + 3a⁴/(2x⁴))     [Pa],  a = 0.1 m.

    python docs/examples/mpi_two_ranks.py [--figures DIR]      (~25 s)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mpi4py import MPI  # noqa: F401  (before DOLFINx: loads libmpi)
import numpy as np

import coupling


def figure_dir() -> Path:
    """--figures DIR, else $DEEPMANIFOLD_FIGURES, else docs/examples/figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--figures", default=os.environ.get("DEEPMANIFOLD_FIGURES", Path(__file__).parent / "figures"))
    d = Path(p.parse_args().figures)
    d.mkdir(parents=True, exist_ok=True)
    return d


def main() -> None:
    out = figure_dir()
    one = coupling.run("plate_hole", out=out / "runs" / "plate_hole_1rank", force=True)
    mpiexec = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    two_dir = out / "runs" / "plate_hole_2ranks"
    subprocess.run([mpiexec, "-n", "2", sys.executable, "-m", "coupling", "run", "plate_hole",
                    "-o", str(two_dir), "--force", "-q"], check=True, capture_output=True)
    two = json.loads((two_dir / "summary.json").read_text())
    p1 = one.results["probes"]["hole_edge_stress"]
    p2 = two["results"]["probes"]["hole_edge_stress"]
    print(f"result ranks_of_second_run = {two['solver']['mpi_ranks']}")
    print(f"result hole_edge_stress_Pa = {p1['value']:.6g}")
    print(f"result Kt_relative_error = {p1['relative_error']:.3e}")
    print(f"result rank_relative_difference = {abs(p2['value'] - p1['value']) / abs(p1['value']):.3e}")

    import meshio
    fields = meshio.read(sorted((two_dir / "fields").glob("*.vtu"))[-1])
    cells = next(c for c in fields.cells if c.type.startswith("triangle"))
    centroid = fields.points[cells.data[:, :3], :2].mean(axis=1)
    on_axis = np.abs(fields.points[cells.data[:, :3], 1]) < 1e-9
    syy = next(d for c, d in zip(fields.cells, fields.cell_data["stress_yy"]) if c is cells) / 1e6
    row = on_axis.sum(axis=1) >= 2                             # cells with an edge on the ligament y = 0
    S, a = 100.0, 0.1
    xs = np.linspace(a, 1.0, 200)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=100)
    ax.plot(xs, S * (1 + a**2 / (2 * xs**2) + 3 * a**4 / (2 * xs**4)), "k-", lw=3, alpha=0.3,
            label="Kirsch, infinite plate")
    ax.plot(centroid[row, 0], syy[row], "C0.", ms=3, label="FEM on 2 ranks (cell values)")
    ax.axhline(p1["reference"] / 1e6, color="C3", ls=":", label="finite-width Kt S = 304 MPa")
    ax.set(xscale="log", xlabel="distance from the hole centre x [m]", ylabel="σ_yy on y = 0 [MPa]",
           title=f"plate with a hole: Kt error {100 * p1['relative_error']:.2f} %,\n"
                 f"1 vs 2 ranks {abs(p2['value'] - p1['value']) / abs(p1['value']):.0e}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "mpi_two_ranks.png")
    print(f"figure {out / 'mpi_two_ranks.png'}")


if __name__ == "__main__":
    main()
