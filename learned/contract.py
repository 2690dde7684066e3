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
- ``rtol`` (and ``atol`` where a solver has one) mean the same in every Newton solver (FEM,
  NMM): a load or time step has converged when ``‖R_k‖ ≤ max(atol, rtol · ‖R₀‖)``, ‖R‖ the
  Euclidean norm of the assembled residual vector [N], R₀ the residual at the first iteration
  of that step (the PETSc SNES / DOLFINx NewtonSolver convention), with a round-off floor
  ``ROUNDOFF · ‖F_ext‖`` where the solver knows its load vector; see :func:`converged`;
- ``callback(record)`` receives a :class:`StepRecord` in every solver;
- a solve that does not converge raises a subclass of :class:`SolverDivergence` whose
  ``result`` is the last good (converged or accepted) result, or None before the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


#: a residual below ROUNDOFF · ‖F_ext‖ is at the round-off of the forces summed into it
#: (≈ 450 machine epsilons): no iteration can reduce it further
ROUNDOFF = 1e-13


def converged(residual_norm: float, initial_norm: float, rtol: float, atol: float = 0.0,
              force_norm: float = 0.0) -> bool:
    """The one convergence test of a nonlinear step:

        ‖R_k‖ ≤ max(atol, rtol · ‖R₀‖, ROUNDOFF · ‖F_ext‖)

    residual_norm : ‖R_k‖, the Euclidean norm of the residual vector at iteration k [N]
    initial_norm  : ‖R₀‖, the norm at the first iteration of the same load/time step [N]
    rtol          : relative tolerance (dimensionless, 0 < rtol < 1)
    atol          : absolute tolerance [N]
    force_norm    : ‖F_ext‖, the external load vector of the step [N], where the solver has
                    it (NMM); the round-off floor lets a step that starts in equilibrium
                    (‖R₀‖ at round-off, e.g. an in-situ stress balancing its loads) converge.
                    0 (FEM): only atol serves as the floor.
    """
    return residual_norm <= max(atol, rtol * initial_norm, ROUNDOFF * force_norm)


@dataclass(frozen=True, kw_only=True)
class StepRecord:
    """What a solver's ``callback`` receives, the same type in every solver.

    step        : load step (static), time step (dynamic), 1 for a single fixed-point solve
    iterations  : nonlinear iterations done in this step (Newton, fixed point, open–close)
    residual    : the relative residual the step's tolerance is tested on (dimensionless):
                  ‖R_k‖/‖R₀‖ for Newton (FEM, NMM), ‖G(x) − x‖/‖G(x)‖ for the data-driven
                  fixed point; NaN where the solver has no single residual (DDA steps)
    converged   : True on the record that closes the step (the step is accepted)
    load_factor : λ ∈ [0, 1] of a static load step, else None
    time        : simulated time t [s] at the end of a dynamic step, else None

    Newton and fixed-point solvers call ``callback`` after every iteration (the last one with
    ``converged=True``); DDA, whose open–close iteration is internal, once per accepted step
    (a :class:`dda.StepInfo`, a subclass with the block and contact figures).
    """

    step: int
    iterations: int
    residual: float
    converged: bool
    load_factor: float | None = None
    time: float | None = None


class SolverDivergence(RuntimeError):
    """A solve that did not converge.

    message : one line naming where it failed (load step, iteration, time, block)
    result  : the solver's last good result (the same type ``solve`` returns), or None
              when nothing converged yet; set by the constructor, never patched on later
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class SolverStatistics:
    """Base of every solver's typed statistics (a dataclass of counts, residuals, timings).

    ``as_dict()`` gives the JSON-serialisable record written to summary.json; read access by
    key (``stats["solves"]``, ``stats.get(...)``) serves code written against the former
    dictionaries. A field named ``extra`` (a dict), if present, is merged into ``as_dict()``.
    """

    def as_dict(self) -> dict[str, Any]:
        """Fields (and ``extra``) as a plain dict."""
        from dataclasses import fields

        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}  # type: ignore[arg-type]
        out.update(getattr(self, "extra", None) or {})
        return out

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``as_dict().get(key, default)``."""
        return self.as_dict().get(key, default)

    def keys(self):
        """Keys of :meth:`as_dict`."""
        return self.as_dict().keys()

    def items(self):
        """Items of :meth:`as_dict`."""
        return self.as_dict().items()
