"""Derived fields of a solved continuum: strain/stress at points, cell stresses, von Mises."""

from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem

from coupling.solvers.fem.discretisation import voigt_strain
from coupling.solvers.fem.problem import ContinuumProblem
from learned.law import von_mises  # noqa: F401  (the one definition; re-exported)


def quadrature_mean_stress(problem: ContinuumProblem) -> tuple[np.ndarray, np.ndarray | None]:
    """Owned cells: the mean over the cell's quadrature points of the converged stress (n,3) [Pa]
    and σzz (n,) [Pa] (None where the law does not know it).

    For a law with internal state (plasticity) the stress at a point depends on the path, so it
    is taken where the state lives: σ_q = law(ε(u_h)(x_q), α_q) with α_q the converged state at
    quadrature point q (a return mapping at a converged state returns the converged stress); the
    cell value is the plain mean over the cell's quadrature points (a cell value, not a point value).
    """
    n = problem.mesh.topology.index_map(2).size_local
    strain = problem.strain_at_quadrature_points()
    state = problem.law_state
    device = getattr(problem.law, "device", None)
    if device is not None:  # a torch law: the points go to its device, as in the solve
        import torch

        strain = torch.as_tensor(strain, dtype=torch.float64, device=device)
    response = problem.law.evaluate(strain, state)
    stress = np.asarray(_as_numpy(response.stress), dtype=float).reshape(n, -1, 3).mean(axis=1)
    szz = problem.law.out_of_plane_stress(strain, state)
    szz = None if szz is None else np.asarray(_as_numpy(szz), dtype=float).reshape(n, -1).mean(axis=1)
    return stress, szz


def _as_numpy(a) -> np.ndarray:
    """A numpy view of a numpy array or a (CPU or CUDA) torch tensor."""
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def centroid_stress(problem: ContinuumProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Owned cells: stress (n,3) [Pa] = the law at the centroid strain, von Mises (n,), σzz (n,) or None.

    A law with internal state (``law.n_state > 0``) gives instead the cell mean of its converged
    quadrature-point stress (:func:`quadrature_mean_stress`): its stress at the centroid strain
    from the initial state would ignore the plastic history.
    """
    if getattr(problem.law, "n_state", 0) > 0:
        stress, szz = quadrature_mean_stress(problem)
        return stress, von_mises(stress, szz), szz
    mesh = problem.mesh
    midpoint = np.array([[1 / 3, 1 / 3]])
    n = mesh.topology.index_map(2).size_local
    eps = fem.Expression(voigt_strain(problem.u), midpoint).eval(mesh, np.arange(n, dtype=np.int32)).reshape(-1, 3)
    law = problem.law
    stress = np.asarray(law.stress(eps), dtype=float).reshape(-1, 3)
    szz = law.out_of_plane_stress(eps)
    szz = None if szz is None else np.asarray(szz, dtype=float)
    return stress, von_mises(stress, szz), szz
