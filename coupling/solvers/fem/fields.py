"""Derived fields of a solved continuum: strain/stress at points, cell stresses, von Mises."""

from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem

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


def centroid_stress(problem: ContinuumProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Owned cells: stress (n,3) [Pa] = the law at the centroid strain, von Mises (n,), σzz (n,) or None."""
    mesh = problem.mesh
    midpoint = np.array([[1 / 3, 1 / 3]])
    n = mesh.topology.index_map(2).size_local
    eps = fem.Expression(voigt_strain(problem.u), midpoint).eval(mesh, np.arange(n, dtype=np.int32)).reshape(-1, 3)
    law = problem.law
    stress = np.asarray(law.stress(eps), dtype=float).reshape(-1, 3)
    szz = law.out_of_plane_stress(eps)
    szz = None if szz is None else np.asarray(szz, dtype=float)
    return stress, von_mises(stress, szz), szz


def cell_stress(problem: ContinuumProblem) -> tuple[fem.Function, fem.Function]:
    """Stress (σxx, σyy, τxy) and von Mises at cell midpoints, as DG0 functions."""
    mesh = problem.mesh
    W = fem.functionspace(mesh, ("DG", 0, (3,)))
    S = fem.functionspace(mesh, ("DG", 0))
    n = mesh.topology.index_map(2).size_local
    stress, vm_values, _ = centroid_stress(problem)
    sigma, vm = fem.Function(W, name="stress"), fem.Function(S, name="von_mises")
    sigma.x.array.reshape(-1, 3)[W.dofmap.list[:n, 0]] = stress
    vm.x.array[S.dofmap.list[:n, 0]] = vm_values
    sigma.x.scatter_forward()
    vm.x.scatter_forward()
    return sigma, vm
