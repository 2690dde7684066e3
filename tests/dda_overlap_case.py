"""Two DDA bars crossed in a "plus" (edges crossed, no vertex of either inside the other), the
blind spot of the contact-based penetration check, and four free blocks around them.

``python tests/dda_overlap_case.py`` (also under ``mpiexec -n 2``) runs it and rank 0 prints one
JSON line per rank: the rank, the rank count, the divergence message, its time [s] and the
retries counted (tests/test_dda_overlap.py compares 1 and 2 ranks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Counter-clockwise rectangle [x0, x1] × [y0, y1] [m]."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


#: the plus: a 10 m × 2 m bar across a 2 m × 10 m bar (overlap 4 m², every vertex 4 m away
#: from the other bar), then four 2 m squares far from both (no contact with anything)
PLUS = [rect(-5, -1, 5, 1), rect(-1, -5, 1, 5)]
OTHERS = [rect(-30, -1, -28, 1), rect(28, -1, 30, 1), rect(-1, 28, 1, 30), rect(-1, -30, 1, -28)]


#: w0 = 5 m: d0 = 2.5 g2 w0 = 0.125 m, penetration limit 0.4 d0 = 0.05 m, A_tol = 0.05 m × 24 m
#: (a bar's perimeter) = 1.2 m² < 4 m²
SETTINGS = dict(duration=0.01, dt=1e-3, gravity=(0.0, 0.0), length_scale=5.0)


def plus_system():
    """The blocks (placed overlapping: the input check is off) with a linear-elastic rock."""
    import dda
    import learned

    s = dda.BlockSystem(PLUS + OTHERS, check_overlap=False)
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    return s


def main() -> None:
    from mpi4py import MPI

    import dda

    sim = dda.Simulation(plus_system(), dda.Settings(**SETTINGS))
    out: dict = {"rank": MPI.COMM_WORLD.rank, "size": MPI.COMM_WORLD.size, "message": None}
    try:
        sim.solve()
    except dda.SolverDivergence as err:
        out.update(message=str(err), time=err.time, step=err.step, block=err.block,
                   n_overlap_retries=sim.stats["n_overlap_retries"])
    for row in MPI.COMM_WORLD.gather(out) or []:  # rank 0 prints every rank's line (no interleaving)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
