"""Data-driven fixed-point solver (Kirchdoerfer–Ortiz) on DOLFINx."""

import numpy as np
import pytest
import ufl

import coupling
from conftest import CASES
from coupling.solvers.datadriven import DataDrivenProblem, ExactLinearProjector, NearestDataProjector
from coupling.runners.fem_model import build_problem
from coupling.solvers.fem.discretisation import Dirichlet, Traction
from learned.boundary import MeshFacets
from coupling.solvers.fixed_point import Anderson, ConstantRelaxation


@pytest.fixture(scope="module")
def beam():
    case = coupling.load_case(CASES / "cantilever.toml", ["mesh.cells=[40,4]", "fem.degree=1"])
    fem_problem, bundle = build_problem(case)
    fem_problem.solve()
    P, h = 1e5, 1.0
    traction = Traction(MeshFacets(bundle.regions["right"]), value=lambda x: ufl.as_vector([0.0, -P * 6 * (x[1] + h / 2) * (h / 2 - x[1]) / h**3]))
    left = bundle.regions["left"]
    bcs = [Dirichlet(MeshFacets(left), ux=0.0, uy=0.0)]

    def make(C):
        return DataDrivenProblem(bundle.mesh, C, degree=1, dirichlet=bcs, tractions=[traction])

    return fem_problem, make


@pytest.mark.parametrize("c_factor", [1.0, 3.0])
def test_exact_linear_manifold_recovers_the_fem_solution(beam, c_factor):
    fem_problem, make = beam
    D = fem_problem.law.reference_stiffness()
    C = c_factor * D
    dd = make(C)
    result = dd.solve(ExactLinearProjector(D, C), Anderson(depth=5), rtol=1e-11, max_iterations=200)
    assert result.fixed_point.converged
    u_fem = fem_problem.u.x.array
    assert np.abs(dd.u.x.array - u_fem).max() <= 1e-8 * np.abs(u_fem).max()


def test_anderson_beats_picard_on_the_projection_solver(beam):
    fem_problem, make = beam
    D = fem_problem.law.reference_stiffness()
    iterations = {}
    for name, acc in (("picard", ConstantRelaxation(1.0)), ("anderson", Anderson(depth=5))):
        dd = make(2 * D)
        r = dd.solve(ExactLinearProjector(D, 2 * D), acc, rtol=1e-10, max_iterations=500)
        assert r.fixed_point.converged
        iterations[name] = r.fixed_point.iterations
    assert iterations["anderson"] * 5 < iterations["picard"]  # measured: 3 vs 97


def test_discrete_data_error_falls_as_the_data_grow(beam):
    fem_problem, make = beam
    D = fem_problem.law.reference_stiffness()
    rng = np.random.default_rng(0)
    u_fem = fem_problem.u.x.array
    errors = []
    for n in (1_000, 10_000, 100_000):
        strain = rng.uniform(-1, 1, size=(n, 3)) * np.array([6e-4, 2e-4, 1e-3])
        dd = make(D)
        r = dd.solve(NearestDataProjector(strain, strain @ D.T, D), rtol=1e-12, max_iterations=100)
        assert r.fixed_point.converged  # the discrete assignment stops changing
        errors.append(np.linalg.norm(dd.u.x.array - u_fem) / np.linalg.norm(u_fem))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.3


def test_continuous_manifold_projection_of_a_nonlinear_law_matches_newton(beam):
    """Projection onto the exact power-law manifold converges to the Newton solution."""
    from coupling.solvers.datadriven import LawProjector
    from learned import PowerLawElastic

    fem_problem, make = beam
    law = PowerLawElastic(30e9, 0.25, 1e-4, 0.5, "stress")
    import coupling as cp
    from coupling.runners.fem_model import build_problem

    case = cp.load_case(CASES / "cantilever.toml", ["mesh.cells=[40,4]", "fem.degree=1",
                        'material={law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4, exponent=0.5, plane="stress"}'])
    newton, _ = build_problem(case)
    newton.solve(load_steps=2)
    C = law.reference_stiffness()
    dd = make(C)
    r = dd.solve(LawProjector(law, C), Anderson(depth=5), rtol=1e-10, max_iterations=300)
    assert r.fixed_point.converged
    u = newton.u.x.array
    assert np.linalg.norm(dd.u.x.array - u) <= 1e-6 * np.linalg.norm(u)
