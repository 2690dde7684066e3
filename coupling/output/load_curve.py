"""The load–displacement curve of a static run with several load steps, one definition for the
FEM, data-driven and NMM runners.

After every converged load step k the run records the load factor λ_k [-] (the applied loads
are λ_k times the case's loads) and the value u_k [m] of every displacement probe (quantity
``ux`` or ``uy``), read by the solver's own probe function (the same one that fills
``results.probes``). Recorded when the run has more than one load step and at least one
displacement probe; reported in summary.json as

    results.load_displacement = {"load_factor": [λ_1, …, λ_n], "probes": {name: [u_1, …, u_n]}}

and plotted as ``load_displacement.png`` (λ against u [mm], from rest, one marker per
converged step) when ``output.plots`` is true; the file is listed in summary ``files``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

FILE = "load_displacement.png"
#: the probe quantities a load–displacement curve records (displacements [m])
QUANTITIES = ("ux", "uy")


class LoadDisplacementCurve:
    """λ_k and the displacement probes after every converged load step (see the module doc).

    ``probes``: the case's probes (objects with ``name``, ``point`` [m], ``quantity``);
    ``steps``: the number of load steps of the run (a load path's length). ``load_factor``
    holds every recorded λ_k, also without displacement probes (the data-driven runner reports
    the last one as ``converged_load_factor``)."""

    def __init__(self, probes: Sequence[Any], steps: int) -> None:
        self.steps = int(steps)
        self.probes = [p for p in probes if p.quantity in QUANTITIES] if self.steps > 1 else []
        self.load_factor: list[float] = []
        self.values: list[np.ndarray] = []

    @property
    def enabled(self) -> bool:
        """True when there is a curve to record (several steps, a displacement probe)."""
        return bool(self.probes)

    def record(self, load_factor: float, probe: Callable[[np.ndarray, list[str]], np.ndarray]) -> None:
        """After a converged step at λ = ``load_factor``: ``probe(points (m, 2) [m], quantities)``
        → values (m,) [m], the solver's probe function (collective where it is)."""
        self.load_factor.append(float(load_factor))
        if self.enabled:
            points = np.array([p.point for p in self.probes], dtype=float)
            self.values.append(np.asarray(probe(points, [p.quantity for p in self.probes]), dtype=float))

    def report(self) -> dict[str, Any]:
        """The JSON record of the curve (``results.load_displacement``)."""
        vals = np.array(self.values).reshape(len(self.values), len(self.probes))
        return {"load_factor": list(self.load_factor),
                "probes": {p.name: vals[:, j].tolist() for j, p in enumerate(self.probes)}}

    def publish(self, case: Any, ctx: Any, results: dict[str, Any], files: list[str]) -> None:
        """Add ``results.load_displacement`` and, with ``output.plots`` and a run folder,
        write ``load_displacement.png`` (rank 0) and list it in ``files``. Nothing when there
        is no curve or no step converged."""
        if not self.enabled or not self.values:
            return
        results["load_displacement"] = self.report()
        if ctx.rundir is not None and case.spec.output.plots:
            if ctx.comm.rank == 0:
                plot_load_displacement(results["load_displacement"], ctx.rundir.file(FILE),
                                       f"{case.name}: {case.spec.title}")
            files.append(FILE)


def plot_load_displacement(curve: dict, path: Path, title: str) -> None:
    """Load factor λ against each displacement probe [mm], one marker per converged load step
    (``curve`` as in summary.json ``results.load_displacement``); written atomically, rank 0 only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lam = np.asarray(curve["load_factor"], dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 4.5), dpi=120, layout="constrained")
    for name, values in curve["probes"].items():
        u = np.concatenate([[0.0], np.asarray(values, dtype=float)]) * 1e3
        ax.plot(u, np.concatenate([[0.0], lam]), "o-", ms=3, label=name)
    ax.axhline(0.0, color="0.8", lw=0.8)
    ax.axvline(0.0, color="0.8", lw=0.8)
    ax.set_xlabel("displacement [mm]")
    ax.set_ylabel("load factor λ")
    ax.set_title(f"{title}\nload–displacement, from rest (one marker per converged step)", fontsize=9)
    ax.legend(fontsize=8)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
