"""Derived fields of a solved continuum: strain/stress at points, cell stresses, von Mises."""

from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem, geometry
from mpi4py import MPI

from coupling.solvers.fem.discretisation import voigt_strain
from coupling.solvers.fem.problem import ContinuumProblem
from learned.law import von_mises  # noqa: F401  (the one definition; re-exported)


def strain_field(problem: ContinuumProblem) -> fem.Function:
    """ε(u_h) interpolated exactly into discontinuous P(k−1) (affine triangles)."""
    k = problem.degree - 1
    W = fem.functionspace(problem.mesh, ("DG", k, (3,)))
    eps = fem.Function(W, name="strain")
    eps.interpolate(fem.Expression(voigt_strain(problem.u), W.element.interpolation_points))
    return eps


def cell_stress(problem: ContinuumProblem) -> tuple[fem.Function, fem.Function]:
    """Stress (σxx, σyy, τxy) and von Mises at cell midpoints, as DG0 functions."""
    mesh = problem.mesh
    W = fem.functionspace(mesh, ("DG", 0, (3,)))
    S = fem.functionspace(mesh, ("DG", 0))
    midpoint = np.array([[1 / 3, 1 / 3]])
    n = mesh.topology.index_map(2).size_local + mesh.topology.index_map(2).num_ghosts
    eps = fem.Expression(voigt_strain(problem.u), midpoint).eval(mesh, np.arange(n, dtype=np.int32)).reshape(-1, 3)
    law = problem.law
    stress = np.asarray(law.stress(eps), dtype=float)
    szz = law.out_of_plane_stress(eps)
    sigma, vm = fem.Function(W, name="stress"), fem.Function(S, name="von_mises")
    sigma.x.array.reshape(-1, 3)[W.dofmap.list[:, 0]] = stress
    vm.x.array[S.dofmap.list[:, 0]] = von_mises(stress, None if szz is None else np.asarray(szz, dtype=float))
    return sigma, vm


def probe(problem: ContinuumProblem, points: np.ndarray, quantities: list[str]) -> np.ndarray:
    """Point values of ux, uy, sxx, syy, sxy, von_mises; collective, returned on every rank.

    Stresses are the law evaluated at ε(u_h)(x) of the cell that contains x (exact strain of
    the discrete solution, no smoothing). A point outside the mesh gives NaN.
    """
    mesh, comm = problem.mesh, problem.mesh.comm
    pts = np.zeros((len(points), 3))
    pts[:, :2] = points
    tree = geometry.bb_tree(mesh, 2)
    cells = geometry.compute_colliding_cells(mesh, geometry.compute_collisions_points(tree, pts), pts)
    n_own = mesh.topology.index_map(2).size_local
    eps_h = strain_field(problem) if any(q != "ux" and q != "uy" for q in quantities) else None
    local = np.full(len(points), np.nan)
    found = np.zeros(len(points), dtype=np.int32)
    for i, q in enumerate(quantities):
        c = [c for c in cells.links(i) if c < n_own]
        if not c:
            continue
        found[i] = 1
        if q in ("ux", "uy"):
            local[i] = problem.u.eval(pts[i], c[:1])[0 if q == "ux" else 1]
            continue
        eps = eps_h.eval(pts[i], c[:1]).reshape(1, 3)
        stress = np.asarray(problem.law.stress(eps), dtype=float)
        if q == "von_mises":
            szz = problem.law.out_of_plane_stress(eps)
            local[i] = von_mises(stress, None if szz is None else np.asarray(szz, dtype=float))[0]
        else:
            local[i] = stress[0, ["sxx", "syy", "sxy"].index(q)]
    # the lowest rank that owns the point reports it
    owner = np.empty(len(points), dtype=np.int64)
    comm.Allreduce(np.where(found > 0, comm.rank, comm.size).astype(np.int64), owner, op=MPI.MIN)
    values = np.empty(len(points))
    comm.Allreduce(np.where(owner == comm.rank, np.nan_to_num(local), 0.0), values, op=MPI.SUM)
    return np.where(owner < comm.size, values, np.nan)
