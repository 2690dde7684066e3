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
