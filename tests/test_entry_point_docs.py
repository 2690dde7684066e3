"""help() on every public entry point tells units and shapes (issue 13, item 6).

Entry points: the names of ``coupling`` a user calls with physical data (run, load_case,
Result), the solver constructors of the contract (README, "Solver contract") and the law
interface. Each docstring must name a unit in brackets ([m], [Pa], [s], …) and an array shape
such as (N, 3); load_case (no arrays) and the solve methods (whose result classes give the
shapes) must name a unit.
"""

import inspect
import re

from mpi4py import MPI  # noqa: F401

import pytest

UNIT = re.compile(r"\[(m|Pa|s|N|-|m/s|kg/m³|m/s²|J/m|rad)\b[^\]]*\]|\bSI\b")
SHAPE = re.compile(r"\((N|n|n_\w+|nq_\w+|ns|\d+)\s*,\s*[^)]*\)|\(\d\s*·\s*n_\w+,\)")


def entry_points():
    import coupling
    import dda
    import learned
    import nmm
    from coupling.solvers.datadriven import DataDrivenProblem
    from coupling.solvers.fem.problem import ContinuumProblem

    shaped = {"coupling.run": coupling.run,
              "coupling.Result": coupling.Result, "ContinuumProblem": ContinuumProblem,
              "DataDrivenProblem": DataDrivenProblem, "nmm.ManifoldModel": nmm.ManifoldModel,
              "dda.Simulation": dda.Simulation, "dda.BlockSystem": dda.BlockSystem,
              "learned.ConstitutiveLaw.evaluate": learned.ConstitutiveLaw.evaluate}
    unit_only = {"coupling.load_case": coupling.load_case, "ContinuumProblem.solve": ContinuumProblem.solve, "DataDrivenProblem.solve": DataDrivenProblem.solve,
                 "nmm.ManifoldModel.solve": nmm.ManifoldModel.solve, "dda.Simulation.solve": dda.Simulation.solve}
    return shaped, unit_only


def test_entry_points_state_units_and_shapes():
    shaped, unit_only = entry_points()
    missing = []
    for name, obj in {**shaped, **unit_only}.items():
        doc = inspect.getdoc(obj) or ""
        if not UNIT.search(doc):
            missing.append(f"{name}: no unit")
        if name in shaped and not SHAPE.search(doc):
            missing.append(f"{name}: no shape")
    assert not missing, missing


def test_the_checks_can_fail():
    assert not UNIT.search("Static equilibrium of a 2D body.") and not SHAPE.search("strain array")
    assert UNIT.search("stress [Pa]") and SHAPE.search("strain (N, 3)")
