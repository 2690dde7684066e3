"""Which schema validates which `solver = "..."` and which function runs it.

Schemas import cheaply; runners are imported lazily (DOLFINx, PETSc and torch load slowly).
"""

from __future__ import annotations

import importlib
from typing import Callable

from coupling.case.common import CaseSpec

# solver name -> (schema module:class, runner module:function)
_SOLVERS: dict[str, tuple[str, str]] = {
    "fem": ("coupling.case.fem:FemCase", "coupling.runners.fem:run_fem_case"),
    "nmm": ("coupling.case.nmm:NmmCase", "coupling.runners.nmm:run_nmm_case"),
    "dda": ("coupling.case.dda:DdaCase", "coupling.runners.dda:run_dda_case"),
    "data_driven": ("coupling.case.data_driven:DataDrivenCase", "coupling.runners.data_driven:run_data_driven_case"),
}


def solver_names() -> list[str]:
    """The solver names a case file may give, sorted."""
    return sorted(_SOLVERS)


def _load(ref: str):
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def schema_for(solver: str) -> type[CaseSpec]:
    """The case schema class of a solver name."""
    return _load(_SOLVERS[solver][0])


def runner_for(solver: str) -> Callable:
    """The runner ``run_<solver>_case(case, ctx)`` of a solver name (imported on first use)."""
    return _load(_SOLVERS[solver][1])
