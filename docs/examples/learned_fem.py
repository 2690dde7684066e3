"""Learned law in FEM: the plate with a hole whose material is a trained network.

The shipped case `cases/learned_plate.toml` names a checkpoint as its material: an
input-convex network (σ = ∂ψ_θ/∂ε, ψ_θ convex) trained on 8000 samples of a power-law elastic
material (`cases/models/power_law_plate_icnn.pt`). It is run here on a coarser mesh (element
size 0.2 m, 0.02 m at the hole) together with the same case whose material is the law that
made the data (an override of the `material` table), and the two are compared: the hole-edge
stress σ_yy(a, 0), the top displacement, and σ_yy [MPa] along the ligament y = 0 in the figure.
The learned law enters the FEM Newton loop through the same law interface as the analytic one.

    python docs/examples/learned_fem.py [--figures DIR]        (~20 s)
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


def ligament(result: coupling.Result) -> tuple[np.ndarray, np.ndarray]:
    """(x [m], σ_yy [MPa]) of the cells with an edge on y = 0, read from the run's field file."""
    fields = result.fields()
    cells = next(c for c in fields.cells if c.type.startswith("triangle"))
    syy = next(d for c, d in zip(fields.cells, fields.cell_data["stress_yy"]) if c is cells)
    corners = fields.points[cells.data[:, :3], :2]
    row = (np.abs(corners[:, :, 1]) < 1e-9).sum(axis=1) >= 2
    x = corners[row, :, 0].mean(axis=1)
    order = np.argsort(x)
    return x[order], syy[row][order] / 1e6


def main() -> None:
    out = figure_dir()
    coarse = {"mesh.element_size": 0.2, "mesh.hole_element_size": 0.02}
    analytic = {"material": {"law": "power_law_elastic", "E": 70e9, "nu": 0.33, "strain0": 1e-3,
                             "exponent": 0.5, "plane": "stress"}}
    learned = coupling.run("learned_plate", out=out / "runs" / "learned_plate", overrides=coarse, force=True)
    exact = coupling.run("learned_plate", out=out / "runs" / "learned_plate_analytic",
                         overrides={**coarse, **analytic}, force=True)
    diff = {}
    for name in ("hole_edge_stress", "top_displacement"):
        a, b = learned.results["probes"][name]["value"], exact.results["probes"][name]["value"]
        diff[name] = abs(a - b) / abs(b)
        print(f"result {name}_relative_difference = {diff[name]:.3e}")
    print(f"result newton_iterations_learned = {sum(learned.summary['solver']['newton_iterations'])}")
    print(f"result newton_iterations_analytic = {sum(exact.summary['solver']['newton_iterations'])}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=100)
    x, s = ligament(exact)
    ax.plot(x, s, "k-", lw=3, alpha=0.3, label="power law (analytic)")
    x, s = ligament(learned)
    ax.plot(x, s, "C0.", ms=4, label="learned ICNN checkpoint")
    ax.set(xlim=(0.1, 1.0), xlabel="distance from the hole centre x [m]", ylabel="σ_yy on y = 0 [MPa]",
           title=f"learned vs analytic law, 100 MPa: hole edge {100 * diff['hole_edge_stress']:.2f} %,"
                 f"\ntop displacement {100 * diff['top_displacement']:.2f} % apart")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "learned_fem.png")
    print(f"figure {out / 'learned_fem.png'}")


if __name__ == "__main__":
    main()
