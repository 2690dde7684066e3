"""Checks of the set-up phase shared by ``run`` and ``check`` (before the first solve)."""

from __future__ import annotations

import numpy as np


def check_probes_in_mesh(case, mesh) -> None:
    """Every ``probes[i].point`` lies in a cell of ``mesh`` (collective); else a CaseError.

    A probe outside the mesh would otherwise report NaN in summary.json after the solve.
    """
    probes = getattr(case.spec, "probes", [])
    if not probes:
        return
    from dolfinx import geometry
    from mpi4py import MPI

    pts = np.zeros((len(probes), 3))
    pts[:, :2] = [p.point for p in probes]
    tree = geometry.bb_tree(mesh, 2)
    cells = geometry.compute_colliding_cells(mesh, geometry.compute_collisions_points(tree, pts), pts)
    n_own = mesh.topology.index_map(2).size_local
    found = np.array([int(any(c < n_own for c in cells.links(i))) for i in range(len(probes))], dtype=np.int32)
    found = mesh.comm.allreduce(found, op=MPI.SUM)
    for i, p in enumerate(probes):
        if not found[i]:
            raise case.error(f"probes[{i}].point", f"{list(p.point)} is outside the mesh", "a point inside the mesh")
