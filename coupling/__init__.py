"""coupling — case files, CLI, run orchestration, case runners and the continuum solvers.

Python API::

    import coupling
    case = coupling.load_case("cases/cantilever.toml", overrides={"mesh.cells": [80, 8]})
    result = coupling.run(case, out="results/cantilever")
    result.summary["results"]["probes"]["tip_deflection"]["value"]

Public names (``__all__``): ``load_case``, ``run``, ``Case``, ``Result``, ``CaseError``,
``RunDiverged``, ``RunInterrupted``, ``SolverDivergence``; each is imported on first use, so
that ``import coupling.solvers.fem`` (a solver package) does not load the case machinery, and
``dir(coupling)`` / ``help(coupling)`` list them.
"""

from __future__ import annotations

import importlib
from typing import Any

import os as _os

_os.environ.setdefault("MPIR_CVAR_POLLS_BEFORE_YIELD", "1")  # see dda/__init__.py (before MPI starts)

from coupling.signals import keep_signals_from_petsc

keep_signals_from_petsc()  # before anything imports petsc4py: PETSc must not own SIGINT/SIGTERM

_EXPORTS = {
    "Case": "coupling.case.loader",
    "load_case": "coupling.case.loader",
    "CaseError": "coupling.errors",
    "SolverDivergence": "coupling.errors",
    "Result": "coupling.runner",
    "RunDiverged": "coupling.runner",
    "RunInterrupted": "coupling.runner",
    "run": "coupling.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name of the package on first use (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'coupling' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names including the public ones not imported yet (tab completion, help())."""
    return sorted(set(globals()) | set(_EXPORTS))
