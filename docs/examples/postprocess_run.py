"""Post-processing: read a run folder with meshio and plot it with matplotlib.

Every run folder holds `summary.json` (key results) and `fields.pvd` + `fields/*.vtu` (one VTU
per output step: point `displacement` [m], cell `stress_xx`, `stress_yy`, `stress_xy`,
`von_mises` [Pa]). This script reads the last step of any FEM or NMM run folder — no
deepmanifold import needed — and draws the deformed mesh coloured by von Mises stress [MPa],
the colours capped at the 99th percentile (a singular peak would swamp the range).

    python docs/examples/postprocess_run.py RUN_FOLDER [--figures DIR]
    python docs/examples/postprocess_run.py [--figures DIR]    (no folder: runs the cantilever
                                                                on a coarse mesh first, ~10 s)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import meshio
import numpy as np


def arguments() -> argparse.Namespace:
    """RUN_FOLDER (optional), --figures DIR (else $DEEPMANIFOLD_FIGURES, else docs/examples/figures)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", nargs="?", help="a run folder of `deepmanifold run` (FEM or NMM)")
    p.add_argument("--figures", default=os.environ.get("DEEPMANIFOLD_FIGURES", Path(__file__).parent / "figures"))
    args = p.parse_args()
    Path(args.figures).mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = arguments()
    out = Path(args.figures)
    run = Path(args.run) if args.run else Path(tempfile.mkdtemp()) / "cantilever"
    if not args.run:  # a small run to read: the cantilever on 40 x 4 cells
        subprocess.run([sys.executable, "-m", "coupling", "run", "cantilever", "-o", str(run), "-q",
                        "--set", "mesh.cells=[40,4]"], check=True, capture_output=True)
    summary = json.loads((run / "summary.json").read_text())
    steps = re.findall(r'timestep="([^"]+)"[^>]*file="([^"]+)"', (run / "fields.pvd").read_text())
    mesh = meshio.read(run / steps[-1][1])                    # the last output step

    tri = np.vstack([c.data[:, :3] for c in mesh.cells if c.type.startswith("triangle")])
    vm = np.concatenate([d for c, d in zip(mesh.cells, mesh.cell_data["von_mises"])
                         if c.type.startswith("triangle")]) / 1e6      # MPa
    u = mesh.point_data["displacement"][:, :2]
    span = np.ptp(mesh.points[:, :2], axis=0).max()
    scale = 0.1 * span / max(np.abs(u).max(), 1e-300)        # largest displacement drawn at 10 % of the size
    xy = mesh.points[:, :2] + scale * u
    print(f"result output_steps = {len(steps)}")
    print(f"result max_displacement_m = {np.abs(u).max():.6g}")
    print(f"result summary_max_displacement_m = {summary['results']['max_abs_displacement']:.6g}")
    print(f"result max_von_mises_MPa = {vm.max():.6g}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    cap = float(np.percentile(vm, 99))
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100, layout="constrained")
    pc = ax.tripcolor(Triangulation(xy[:, 0], xy[:, 1], tri), facecolors=vm, vmax=cap, cmap="viridis")
    ax.set(aspect="equal", xlabel="x [m]", ylabel="y [m]",
           title=f"{run.name}: von Mises on the deformed mesh (×{scale:.3g})")
    fig.colorbar(pc, ax=ax, orientation="horizontal", label=f"von Mises [MPa] (capped at the 99th percentile; max {vm.max():.3g})")
    fig.savefig(out / "postprocess_run.png")
    print(f"figure {out / 'postprocess_run.png'}")


if __name__ == "__main__":
    main()
