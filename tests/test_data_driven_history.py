"""Issue 16, item 4: the data-driven fixed point with a law that has history.

The admissible set of load step k is the manifold of the return mapping from the state of the
last converged step, M_k = {(e, σ(e; q_{k−1}))}; the projector holds q_{k−1} fixed during the
fixed-point iterations and advances it only when the step converges (LawProjector.commit via
DataDrivenProblem.solve_path). On a strip under an end traction (plane strain, J2 with
hardening) loaded past yield, unloaded and reloaded, the data-driven solution must equal the
FEM Newton solution of the same law step by step — both are the compatible, equilibrated
displacement whose quadrature-point stresses lie on M_k — including the residual displacement
after unloading.
"""

import math

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from coupling.solvers.datadriven import DataDrivenProblem, LawProjector
from coupling.solvers.fem.mesh import rectangle
from coupling.solvers.fem.problem import ContinuumProblem, Dirichlet, Traction
from learned.boundary import MeshFacets
from coupling.solvers.fixed_point import Anderson
from learned.plasticity import J2Plasticity

L, HEIGHT = 1.0, 0.25
PATH = [0.3, 0.6, 0.8, 1.0, 0.5, 0.0, 0.5, 1.0, 1.1, 0.0]


def _setup(law, traction):
    bundle = rectangle(MPI.COMM_WORLD, (L, HEIGHT), (6, 2))
    r = bundle.regions
    bcs = [Dirichlet(MeshFacets(r["left"]), ux=0.0), Dirichlet(MeshFacets(r["bottom"]), uy=0.0)]
    tr = [Traction(MeshFacets(r["right"]), value=lambda x: ufl.as_vector([traction, 0.0]))]
    fem_problem = ContinuumProblem(bundle.mesh, law, degree=1, dirichlet=bcs, tractions=tr)
    dd = DataDrivenProblem(bundle.mesh, law.reference_stiffness(), degree=1, dirichlet=bcs, tractions=tr)
    return fem_problem, dd


def test_data_driven_with_history_matches_fem_newton_along_a_loading_unloading_path():
    """Measured: max |u_dd − u_fem| / max |u_fem| = 1.9e-9 over the 10 steps (fixed point
    rtol 1e-11, Anderson(5): 3–124 iterations per step); tolerance 1e-7."""
    law = J2Plasticity(200e9, 0.3, 250e6, hardening=10e9)
    traction = 1.3 * 250e6 / math.sqrt(1 - 0.3 + 0.09)  # 1.3 x the plane-strain uniaxial yield stress
    fem_problem, dd = _setup(law, traction)
    u_fem, u_dd, states = [], [], []
    for lam in PATH:
        fem_problem.solve(load_factors=[lam], rtol=1e-12, atol=1e-14 * traction)
        u_fem.append(fem_problem.u.x.array.copy())
    projector = LawProjector(law, law.reference_stiffness(), tol=1e-13)

    def record(k, result):
        u_dd.append(dd.u.x.array.copy())
        states.append(projector.state.copy())

    results = dd.solve_path(projector, PATH, lambda: Anderson(depth=5), rtol=1e-11, max_iterations=300, on_step=record)
    assert all(r.fixed_point.converged for r in results)
    u_fem, u_dd = np.array(u_fem), np.array(u_dd)
    scale = np.abs(u_fem).max()
    err = np.abs(u_dd - u_fem).max() / scale
    print("max rel. difference", err, "iterations", [r.fixed_point.iterations for r in results])
    assert err < 1e-7
    unloaded = PATH.index(0.0)
    # permanent deformation after unloading, equal in both solvers
    assert np.abs(u_dd[unloaded]).max() > 0.1 * np.abs(u_dd[:unloaded]).max()
    # the state was committed at convergence only: elastic reloading leaves it unchanged
    assert states[unloaded][:, 4].max() > 0
    np.testing.assert_array_equal(states[unloaded], states[unloaded + 1])
    # the final state equals the FEM law state (same quadrature points, same order)
    np.testing.assert_allclose(states[-1], fem_problem.law_state, rtol=0, atol=1e-7 * np.abs(fem_problem.law_state).max())


def test_state_is_not_advanced_by_projections_only():
    """project() never changes the committed state; commit() does (history is explicit)."""
    law = J2Plasticity(200e9, 0.3, 250e6, hardening=10e9)
    projector = LawProjector(law, law.reference_stiffness())
    eps = np.array([[5e-3, 0.0, 0.0], [1e-4, 0.0, 0.0]])
    sig = eps @ law.reference_stiffness().T
    e, _ = projector.project(eps, sig)
    np.testing.assert_array_equal(projector.state, 0.0)
    projector.commit(e)
    assert projector.state[0, 4] > 0 and projector.state[1, 4] == 0  # the first point yielded
