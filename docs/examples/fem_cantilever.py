"""FEM: the shipped cantilever (`cases/cantilever.toml`) run from Python, against beam theory.

A 10 m × 1 m plane-stress cantilever (E = 30 GPa, ν = 0.25), clamped at x = 0, carries an
end load P = 1e5 N/m as a parabolic shear at x = L. Timoshenko beam theory gives the
deflection of the neutral axis

    v(x) = −P x² (3L − x) / (6 E I) − (4 + 5ν) P h² x / (24 E I)     [m],  I = h³/12

(tip: −1.34208e-2 m). The run writes its folder (summary.json, fields, plots) under
FIGURES/runs/cantilever; the figure compares v(x) read from the field file with the formula.

    python docs/examples/fem_cantilever.py [--figures DIR]     (~10 s)
"""

from __future__ import annotations

import argparse
import os
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
    case = coupling.load_case("cantilever")                   # a shipped case by name
    result = coupling.run(case, out=out / "runs" / "cantilever", force=True)
    probes = result.results["probes"]
    tip, root = probes["tip_deflection"], probes["root_bending_stress"]
    print(f"result tip_deflection_m = {tip['value']:.6g}")
    print(f"result tip_relative_error = {tip['relative_error']:.3e}")
    print(f"result root_stress_relative_error = {root['relative_error']:.3e}")

    fields = result.fields()                                   # meshio.Mesh of the last load step
    x, y = fields.points[:, 0], fields.points[:, 1]
    axis = np.abs(y) < 1e-9                                    # nodes on the neutral axis
    order = np.argsort(x[axis])
    xa, va = x[axis][order], fields.point_data["displacement"][axis, 1][order]
    E, nu, P, L, h = 30e9, 0.25, 1e5, 10.0, 1.0
    I = h**3 / 12
    xs = np.linspace(0, L, 200)
    v = -P * xs**2 * (3 * L - xs) / (6 * E * I) - (4 + 5 * nu) * P * h**2 * xs / (24 * E * I)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=100)
    ax.plot(xs, 1e3 * v, "k-", lw=3, alpha=0.3, label="Timoshenko beam")
    ax.plot(xa, 1e3 * va, "C0.", ms=3, label="FEM, P2, 80×8 cells")
    ax.set(xlabel="x [m]", ylabel="deflection of the neutral axis v [mm]",
           title=f"cantilever: tip error {100 * tip['relative_error']:.3f} %")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fem_cantilever.png")
    print(f"figure {out / 'fem_cantilever.png'}")


if __name__ == "__main__":
    main()
