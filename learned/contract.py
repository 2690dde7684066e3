"""The contract every solver shares: one divergence type that carries the last good result.

Why here: the design fixes four top-level packages and the layering rule (``learned/``
imports nothing of ours; ``dda/``, ``nmm/`` and the continuum solvers in
``coupling/solvers/`` import only ``learned/``). ``learned/`` is therefore the one package
that every solver may import, so the shared contract sits in it, in this small module
that depends on nothing.

The solver contract (every solver; see README "Solver contract"):

- ``Solver(model-or-mesh, law, ...)`` builds the discrete problem;
- ``solver.solve(*, load_steps | duration, rtol, max_iterations, callback) -> Result`` with
  typed statistics (a dataclass with ``as_dict()``);
- a solve that does not converge raises a subclass of :class:`SolverDivergence` whose
  ``result`` is the last good (converged or accepted) result, or None before the first.
"""

from __future__ import annotations

from typing import Any


class SolverDivergence(RuntimeError):
    """A solve that did not converge.

    message : one line naming where it failed (load step, iteration, time, block)
    result  : the solver's last good result (the same type ``solve`` returns), or None
              when nothing converged yet; set by the constructor, never patched on later
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result
