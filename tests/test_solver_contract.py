"""The solver contract shared by FEM, data-driven, NMM and DDA (learned/contract.py).

solve(*, load_steps | duration, rtol, max_iterations, callback) -> Result with typed
statistics; a solve that does not converge raises a subclass of the one SolverDivergence,
whose ``result`` (set by its constructor) is the last good result.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import coupling
import dda
import nmm
from conftest import CASES
from coupling.solvers.datadriven import DataDrivenDivergence, DataDrivenProblem, ExactLinearProjector
from coupling.solvers.fem.errors import FemDivergence
from coupling.solvers.fem.problem import ContinuumProblem, FemResult
from learned import LinearElastic, PowerLawElastic
from learned.boundary import Dirichlet, MeshFacets, MeshVertices, Point, Segment, Traction
from learned.contract import SolverDivergence, SolverStatistics, StepRecord, converged

SOLVES = {
    "fem": ContinuumProblem.solve,
    "data_driven": DataDrivenProblem.solve,
    "nmm": nmm.ManifoldModel.solve,
    "dda": dda.Simulation.solve,
}


@pytest.mark.parametrize("name", SOLVES)
def test_solve_has_the_contract_keywords(name):
    params = inspect.signature(SOLVES[name]).parameters
    keyword_only = {p.name for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert {"rtol", "max_iterations", "callback"} <= keyword_only
    assert keyword_only & {"load_steps", "duration"}


CONSTRUCTORS = {"fem": ContinuumProblem, "data_driven": DataDrivenProblem, "nmm": nmm.ManifoldModel, "dda": dda.Simulation}


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_constructors_share_one_shape(name):
    """Solver(model-or-mesh, material-or-settings, *, options): two positional parameters at
    most, every option (comm, degree, projector, …) keyword-only."""
    params = list(inspect.signature(CONSTRUCTORS[name].__init__).parameters.values())[1:]
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert len(positional) <= 2 and all(p.kind is not inspect.Parameter.VAR_POSITIONAL for p in params)
    assert "comm" not in positional


@pytest.mark.parametrize("error", [FemDivergence, DataDrivenDivergence, nmm.SolverDivergence, dda.SolverDivergence,
                                   coupling.SolverDivergence])
def test_one_divergence_base(error):
    assert issubclass(error, SolverDivergence)


@pytest.mark.parametrize("make", [
    lambda r: FemDivergence("load step 2", r),
    lambda r: DataDrivenDivergence("iteration 200", r),
    lambda r: nmm.SolverDivergence("load step 2", r, load_factor=0.5),
    lambda r: dda.SolverDivergence(3, 0.1, 0, "penetration", result=r),
    lambda r: coupling.errors.CaseDiverged("runner", r),
    lambda r: coupling.RunDiverged("run", r),
], ids=["fem", "data_driven", "nmm", "dda", "case", "run"])
def test_every_divergence_carries_its_result_from_the_constructor(make, monkeypatch):
    """The result reaches SolverDivergence.__init__ (a subclass that set it after the base
    constructor, or dropped it, fails here)."""
    passed = []
    base_init = SolverDivergence.__init__

    def recording_init(self, message, result=None):
        passed.append(result)
        base_init(self, message, result)

    monkeypatch.setattr(SolverDivergence, "__init__", recording_init)
    sentinel = object()
    err = make(sentinel)
    assert passed == [sentinel] and err.result is sentinel and str(err)


def _plate_fem(law):
    from coupling.solvers.fem.mesh import rectangle
    from mpi4py import MPI
    import ufl

    m = rectangle(MPI.COMM_WORLD, size=(2.0, 1.0), cells=(8, 4))
    return ContinuumProblem(
        m.mesh, law, degree=1,
        dirichlet=[Dirichlet(MeshFacets(m.regions["left"]), ux=0.0), Dirichlet(MeshFacets(m.regions["bottom"]), uy=0.0)],
        tractions=[Traction(MeshFacets(m.regions["right"]), value=lambda x: ufl.as_vector([5e6, 0.0]))],
    ), m


def test_fem_returns_a_typed_result_and_diverges_with_the_last_good_step():
    problem, _ = _plate_fem(LinearElastic(1e9, 0.3, "stress"))
    seen = []
    result = problem.solve(load_steps=2, callback=lambda rec: seen.append(rec.step))
    assert isinstance(result, FemResult) and result.converged_load_factor == 1.0
    assert isinstance(result.stats, SolverStatistics) and dataclasses.is_dataclass(result.stats)
    assert result.stats.newton_iterations == [1, 1] and seen and max(seen) == 2

    strong = PowerLawElastic(1e9, 0.3, 1e-5, 0.3, "stress")  # far beyond ε0: Newton needs many iterations
    problem, _ = _plate_fem(strong)
    with pytest.raises(FemDivergence) as err:
        problem.solve(load_steps=4, max_iterations=1)
    last = err.value.result
    assert isinstance(last, FemResult) and last.converged_load_factor < 1.0
    # the problem was restored to that state
    assert np.array_equal(last.displacement.x.array, problem.u.x.array)


def test_data_driven_diverges_with_its_last_iterate():
    problem, m = _plate_fem(LinearElastic(1e9, 0.3, "stress"))
    D = problem.law.reference_stiffness()
    import ufl

    dd = DataDrivenProblem(
        m.mesh, 2 * D, dirichlet=[Dirichlet(MeshFacets(m.regions["left"]), ux=0.0), Dirichlet(MeshFacets(m.regions["bottom"]), uy=0.0)],
        tractions=[Traction(MeshFacets(m.regions["right"]), value=lambda x: ufl.as_vector([5e6, 0.0]))],
    )
    with pytest.raises(DataDrivenDivergence) as err:
        dd.solve(ExactLinearProjector(D, 2 * D), rtol=1e-14, max_iterations=2)
    assert err.value.result.fixed_point.iterations == 2 and not err.value.result.fixed_point.converged


def test_nmm_result_has_typed_stats_and_divergence_keeps_the_last_step():
    from nmm.result import NMMStats

    def model(law):
        m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 2, 1), nmm.CoverMesh.rectangle(0, 0, 2, 1, 4, 2), law=law, order=1)
        m.add(nmm.Dirichlet(((0, 0), (0, 1)), ux=0.0, uy=0.0), nmm.Traction(((2, 0), (2, 1)), value=(5e6, 0.0)))
        return m

    result = model(LinearElastic(1e9, 0.3, "stress")).solve(load_steps=2)
    assert isinstance(result.stats, NMMStats) and result.stats.load_factor == 1.0
    assert result.stats["dofs"] == result.stats.dofs  # read access by key, as before
    with pytest.raises(nmm.SolverDivergence) as err:
        model(PowerLawElastic(1e9, 0.3, 1e-5, 0.3, "stress")).solve(load_steps=4, max_iterations=1)
    assert err.value.load_factor < 1.0
    assert err.value.result is None or err.value.result.stats.load_factor == err.value.load_factor


def test_dda_solve_is_run_with_typed_stats():
    from dda.result import DdaStats

    base = np.array([[0, 0], [4, 0], [4, 1], [0, 1]], float)
    block = base + [1.0, 1.0]
    system = dda.BlockSystem([base, block], fixed=np.array([True, False]))
    system.add_material(0, LinearElastic(1e9, 0.25, "strain"), 2500.0)
    result = dda.Simulation(system, dda.Settings(duration=1.0, dt=0.01)).solve(duration=0.05)
    assert isinstance(result.stats, DdaStats) and result.stats.steps >= 5
    assert abs(float(np.asarray(result.time)[-1]) - 0.05) < 1e-9
    assert result.stats["solves"] == result.stats.solves


# ---------------------------------------------------------------------------- one tolerance, one record
def test_converged_is_relative_to_the_first_residual_with_an_absolute_floor():
    assert converged(1e-9, 1.0, rtol=1e-8) and not converged(2e-8, 1.0, rtol=1e-8)
    assert converged(5e-11, 0.0, rtol=1e-8, atol=1e-10)  # a step that starts in equilibrium
    assert not converged(5e-11, 0.0, rtol=1e-8, atol=0.0)
    # round-off floor: a residual at 1e-16 of the load vector cannot be reduced further
    assert converged(1e-7, 2e-7, rtol=1e-9, force_norm=1e9) and not converged(1e-7, 2e-7, rtol=1e-9)
    assert not converged(1e-3, 1.0, rtol=1e-9, force_norm=1e9)  # 1e-12 of F: not at round-off


def _records_by_step(records):
    steps = {}
    for rec in records:
        assert isinstance(rec, StepRecord)
        steps.setdefault(rec.step, []).append(rec)
    return steps


def _nmm_plate(law):
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 2, 1), nmm.CoverMesh.rectangle(0, 0, 2, 1, 4, 2), law=law, order=1)
    m.add(nmm.Dirichlet(((0, 0), (0, 1)), ux=0.0, uy=0.0), nmm.Traction(((2, 0), (2, 1)), value=(5e6, 0.0)))
    return m


@pytest.mark.parametrize("name", ["fem", "nmm"])
def test_newton_solvers_share_the_meaning_of_rtol_and_the_step_record(name):
    """FEM and NMM report ‖R_k‖/‖R₀‖ per load step: the first record of EVERY step is 1
    (a reference of max(‖F‖, ‖f_int‖) would give 1/2 on step 2 of 2), and a step closes
    with converged=True once the ratio is ≤ rtol. The nonlinear law needs several iterations."""
    law = PowerLawElastic(1e9, 0.3, 1e-3, 0.5, "stress")
    records = []
    if name == "fem":
        problem, _ = _plate_fem(law)
        problem.solve(load_steps=2, rtol=1e-8, callback=records.append)
    else:
        _nmm_plate(law).solve(load_steps=2, rtol=1e-8, callback=records.append)
    steps = _records_by_step(records)
    assert sorted(steps) == [1, 2]
    for k, recs in steps.items():
        assert recs[0].iterations == 0 and recs[0].residual == 1.0 and not recs[0].converged
        assert recs[-1].converged and recs[-1].residual <= 1e-8 and len(recs) >= 3
        assert not any(r.converged for r in recs[:-1])
        assert all(r.load_factor == k / 2 and r.time is None for r in recs)


def test_data_driven_and_dda_callbacks_get_step_records():
    problem, m = _plate_fem(LinearElastic(1e9, 0.3, "stress"))
    D = problem.law.reference_stiffness()
    import ufl

    dd = DataDrivenProblem(
        m.mesh, D, dirichlet=[Dirichlet(MeshFacets(m.regions["left"]), ux=0.0), Dirichlet(MeshFacets(m.regions["bottom"]), uy=0.0)],
        tractions=[Traction(MeshFacets(m.regions["right"]), value=lambda x: ufl.as_vector([5e6, 0.0]))],
    )
    records = []
    result = dd.solve(ExactLinearProjector(D, D), rtol=1e-8, max_iterations=50, callback=records.append)
    assert all(isinstance(r, StepRecord) and r.step == 1 for r in records)
    assert isinstance(result.stats, SolverStatistics) and dataclasses.is_dataclass(result.stats)
    assert result.stats.iterations == len(records) and result.stats["converged"] is True
    assert result.as_dict() == result.stats.as_dict() and "time_projection_s" in result.as_dict()
    assert [r.iterations for r in records] == list(range(1, len(records) + 1)) and records[-1].converged

    from dda.selfcheck import build_system

    sim = dda.Simulation(build_system(), dda.Settings(duration=4 * 5e-3, dt=5e-3))
    steps = []
    result = sim.solve(callback=lambda info: steps.append(info) or len(steps) == 3)  # True: stop after step 3
    assert all(isinstance(r, StepRecord) and r.converged and r.time > 0 for r in steps)
    assert [r.step for r in steps] == [1, 2, 3] and result.status == "interrupted"
    assert dda.Simulation(build_system(), dda.Settings(duration=2 * 5e-3, dt=5e-3)).solve().status == "ok"


def test_dda_has_one_solve_and_failure_kinds_as_an_enum():
    import enum

    assert not hasattr(dda.Simulation, "run")
    assert issubclass(dda.StepFailure, enum.Enum)
    assert {f.name for f in dda.StepFailure} == {
        "DISPLACEMENT", "PENETRATION", "OPEN_CLOSE", "NOT_FINITE", "OVERLAP",
        "IMPACT",  # a landing on a band, resolved by dda.impact_steps (a retry, not a failure of the run)
    }
    for kind in dda.StepFailure:  # every kind is documented where the enum is
        assert f"{kind.name} " in dda.StepFailure.__doc__


def test_one_boundary_description_for_every_solver_and_the_former_names_still_import():
    from coupling.solvers.fem import discretisation, problem

    for module in (nmm, problem, discretisation):
        assert module.Dirichlet is Dirichlet and module.Traction is Traction
    assert nmm.DirichletBC is Dirichlet  # the former NMM name


@pytest.mark.parametrize("pressure", [False, True])
def test_fem_and_nmm_interpret_the_same_boundary_objects(pressure):
    """The same Dirichlet / Traction objects (segments, a callable value in x[0], x[1], or a
    pressure) drive FEM and NMM: uniaxial tension σ of a 2 m × 1 m plate, roller supports on
    the left and bottom, u_x = σ x / E and u_y = −ν σ y / E exactly. Both discretisations
    reproduce a linear field to round-off (P1 FEM, order-1 NMM); compared at 1e-9 of |u|."""
    E, nu, sigma = 1e9, 0.3, 5e6
    law = LinearElastic(E, nu, "stress")
    supports = [Dirichlet(Segment((0, 0), (0, 1)), ux=0.0), Dirichlet(Segment((0, 0), (2, 0)), uy=0.0)]
    right = Segment((2, 0), (2, 1))
    # an x-dependent expression that equals σ on the loaded edge x = 2: exercises the callable
    load = (Traction(right, pressure=-sigma) if pressure
            else Traction(right, value=lambda x: (sigma * x[0] / 2.0, 0.0 * x[1])))
    exact = lambda x, y: np.array([sigma * x / E, -nu * sigma * y / E])  # noqa: E731
    scale = sigma * 2 / E

    from coupling.solvers.fem.mesh import rectangle
    from mpi4py import MPI

    m = rectangle(MPI.COMM_WORLD, size=(2.0, 1.0), cells=(4, 2))
    fem_u = ContinuumProblem(m.mesh, law, degree=1, dirichlet=supports, tractions=[load]).solve().displacement
    X = fem_u.function_space.tabulate_dof_coordinates()[:, :2]
    assert np.abs(fem_u.x.array.reshape(-1, 2) - exact(X[:, 0], X[:, 1]).T).max() <= 1e-9 * scale

    model = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 2, 1), nmm.CoverMesh.rectangle(0, 0, 2, 1, 4, 2), law=law, order=1)
    model.add(*supports, load)
    points = np.array([[2.0, 1.0], [1.0, 0.5], [0.3, 0.9]])
    nmm_u = model.solve().displacement(points)
    assert np.abs(nmm_u - exact(points[:, 0], points[:, 1]).T).max() <= 1e-9 * scale


def test_a_point_dirichlet_is_a_vertex_in_fem_and_a_spring_in_nmm():
    """Dirichlet(Point) pins the nearest FEM vertex and is an NMM point constraint; mesh
    entities are refused by NMM with a one-line input error naming what it takes."""
    from coupling.solvers.fem.discretisation import Discretisation
    from coupling.solvers.fem.mesh import rectangle
    from mpi4py import MPI

    m = rectangle(MPI.COMM_WORLD, size=(2.0, 1.0), cells=(4, 2))
    dim, verts = Discretisation(m.mesh, 1).entities(Point((0.49, 0.51)))
    assert dim == 0 and len(verts) == 1
    assert np.allclose(m.mesh.geometry.x[verts[0], :2], [0.5, 0.5])
    dim, facets = Discretisation(m.mesh, 1).entities(Segment((2, 0), (2, 1)))
    assert dim == 1 and len(facets) == 2  # the two cell edges on x = 2

    model = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 2, 1), nmm.CoverMesh.rectangle(0, 0, 2, 1, 4, 2),
                              law=LinearElastic(1e9, 0.3, "stress"), order=1)
    model.add(Dirichlet(Point((0.0, 0.0)), ux=0.0, uy=0.0))
    assert isinstance(model.bcs[-1], nmm.PointConstraint) and tuple(model.bcs[-1].point) == (0.0, 0.0)
    model.add(Dirichlet(MeshVertices(np.array([0])), ux=0.0))
    with pytest.raises(nmm.InputError, match="a segment"):
        model.linear_terms()
    with pytest.raises(ValueError, match="exactly one"):
        Traction(Segment((0, 0), (1, 0)), value=(1.0, 0.0), pressure=1.0)


def test_every_runner_has_one_shape():
    """One runner per solver, in coupling/runners/<solver>.py: run_<solver>_case(case, ctx) -> RunPayload."""
    from coupling.case import registry

    for name in registry.solver_names():
        runner = registry.runner_for(name)
        assert runner.__module__ == f"coupling.runners.{name}" and runner.__name__ == f"run_{name}_case"
        sig = inspect.signature(runner)
        assert list(sig.parameters) == ["case", "ctx"]
        assert getattr(sig.return_annotation, "__name__", sig.return_annotation) == "RunPayload"


def test_data_driven_takes_its_material_in_the_constructor_and_load_steps_in_solve():
    """The contract shape for the data-driven solver: DataDrivenProblem(mesh, C, projector=…)
    then solve(*, load_steps, rtol, max_iterations, callback); two load steps reach the
    one-step fixed point (a linear projector: the same elastic solution)."""
    problem, m = _plate_fem(LinearElastic(1e9, 0.3, "stress"))
    D = problem.law.reference_stiffness()

    def make():
        return DataDrivenProblem(
            m.mesh, D, projector=ExactLinearProjector(D, D),
            dirichlet=[Dirichlet(MeshFacets(m.regions["left"]), ux=0.0), Dirichlet(MeshFacets(m.regions["bottom"]), uy=0.0)],
            tractions=[Traction(MeshFacets(m.regions["right"]), value=(5e6, 0.0))])

    one = make()
    one.solve(rtol=1e-10, max_iterations=50)
    two, records = make(), []
    result = two.solve(load_steps=2, rtol=1e-10, max_iterations=50, callback=records.append)
    assert sorted({(r.step, r.load_factor) for r in records}) == [(1, 0.5), (2, 1.0)]
    assert result.stats.converged and records[-1].converged
    u1, u2 = one.u.x.array, two.u.x.array
    assert np.abs(u2 - u1).max() <= 1e-11 * np.abs(u1).max()  # measured 9e-16 (round-off); rtol 1e-10 bounds it
    with pytest.raises(ValueError, match="projector"):
        DataDrivenProblem(m.mesh, D).solve()


def test_nmm_dynamics_through_the_contract_solve():
    """ManifoldModel.solve(duration=, dt=) is solve_dynamic over round(duration/dt) steps:
    the same displacement to the last bit, one StepRecord per time step (t = k dt) whose
    iterations add up to the run's Newton count."""
    def model():
        m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 4, 4),
                              law=LinearElastic(1e9, 0.25, "stress"), order=1, density=2000.0)
        m.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Traction(((0, 1), (1, 1)), value=(1e5, -1e5)))
        return m

    ref = model().solve_dynamic(dt=1e-3, n_steps=5)
    records = []
    res = model().solve(duration=5e-3, dt=1e-3, max_iterations=30, callback=records.append)
    assert np.array_equal(res.u, ref.u)
    assert [r.step for r in records] == [1, 2, 3, 4, 5] and all(r.converged for r in records)
    assert np.allclose([r.time for r in records], 1e-3 * np.arange(1, 6), rtol=1e-12)
    assert sum(r.iterations for r in records) == res.stats["newton_iterations"] and records[0].iterations >= 1
    with pytest.raises(nmm.InputError, match="dt"):
        model().solve(duration=1e-2)


@pytest.mark.parametrize("name", ["fem", "nmm", "data_driven"])
def test_on_step_gets_the_step_and_its_result_in_every_static_solver(name):
    """on_step(step, result) after every converged load step, result the solver's Result type
    at that step (its load factor λ = k/n)."""
    law = LinearElastic(1e9, 0.3, "stress")
    got = []
    if name == "fem":
        problem, _ = _plate_fem(law)
        problem.solve(load_steps=2, on_step=lambda k, r: got.append((k, r.converged_load_factor, type(r))))
        expected_type = FemResult
    elif name == "nmm":
        _nmm_plate(law).solve(load_steps=2, on_step=lambda k, r: got.append((k, r.stats.load_factor, type(r))))
        expected_type = nmm.NMMResult
    else:
        problem, m = _plate_fem(law)
        D = law.reference_stiffness()
        dd = DataDrivenProblem(
            m.mesh, D, projector=ExactLinearProjector(D, D),
            dirichlet=[Dirichlet(MeshFacets(m.regions["left"]), ux=0.0), Dirichlet(MeshFacets(m.regions["bottom"]), uy=0.0)],
            tractions=[Traction(MeshFacets(m.regions["right"]), value=(5e6, 0.0))])
        dd.solve(load_steps=2, rtol=1e-10, on_step=lambda k, r: got.append((k, r.load_factor, type(r))))
        from coupling.solvers.datadriven import DataDrivenResult as expected_type
    assert got == [(1, 0.5, expected_type), (2, 1.0, expected_type)]
