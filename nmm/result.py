"""Results of an NMM solve: dofs, point evaluation, stresses, SIFs, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from learned.contract import SolverStatistics

from nmm.approximation import gradient, shape_functions


@dataclass
class NMMStats(SolverStatistics):
    """Statistics of a static NMM solve.

    dofs, covers, elements (manifold elements), integration_points (all ranks);
    newton_iterations, solves (linear solves), over all load steps; load_steps, load_factor
    (of this result: 1 when complete); residuals: final ‖R‖ / ‖R₀‖ per step (R₀ the
    residual at the step's first iteration); mpi_ranks; contact: joint contact counts (open/stick/slide) or None; timings [s];
    initial_guess: with a warm start, ``cold_initial_residual`` [N] and ``predicted_residual``
    (see :func:`nmm.solve.solve_static`), else None.
    """

    dofs: int
    covers: int
    elements: int
    integration_points: int
    newton_iterations: int
    solves: int
    load_steps: int
    load_factor: float
    residuals: list[float] = field(default_factory=list)
    mpi_ranks: int = 1
    contact: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    initial_guess: dict[str, float] | None = None


@dataclass
class NMMDynamicStats(SolverStatistics):
    """Statistics of an implicit dynamic NMM solve: steps, halvings of Δt (step_cuts),
    Newton iterations and linear solves over all steps, mpi_ranks, timings [s]."""

    dofs: int
    covers: int
    elements: int
    steps: int
    step_cuts: int
    newton_iterations: int
    solves: int
    mpi_ranks: int = 1
    timings: dict[str, float] = field(default_factory=dict)


class NMMResult:
    """Solution of a :class:`ManifoldModel`.

    u       : global dofs (replicated on every rank)
    stress  : (nq_local, 3) stress at this rank's integration points [Pa]
    state   : (nq_local, S) law state at this rank's integration points
    stats   : :class:`NMMStats` (static) or :class:`NMMDynamicStats`
    sif     : list of dicts per crack tip (filled by :meth:`compute_sif`)
    """

    def __init__(self, model, u: np.ndarray, stress: np.ndarray, state: np.ndarray, stats: SolverStatistics) -> None:
        self.model, self.u, self.stress_qp, self.state = model, u, stress, state
        self.stats = stats
        self.sif: list[dict[str, Any]] = []
        self.history: dict[str, Any] = {}
        self.velocity: np.ndarray | None = None

    # ------------------------------------------------------------------ point evaluation
    def displacement(self, x: np.ndarray, elem: np.ndarray | None = None) -> np.ndarray:
        """u(x) (n,2) [m] at points inside Ω."""
        _, Nm, dofs = self.model.point_matrices(x, elem)
        return np.einsum("nij,nj->ni", Nm, self.u[dofs])

    def displacement_gradient(self, x: np.ndarray, elem: np.ndarray | None = None) -> np.ndarray:
        """∂u_a/∂x_b (n,2,2) at points."""
        m = self.model
        x = np.atleast_2d(np.asarray(x, float))
        elem, _, dofs = m.point_matrices(x, elem)
        _, dN = shape_functions(m.man, m.order, x, elem)
        return gradient(dN, self.u[dofs])

    def strain(self, x: np.ndarray, elem: np.ndarray | None = None) -> np.ndarray:
        """Voigt strain (n,3) (ε_xx, ε_yy, γ_xy) at points."""
        g = self.displacement_gradient(x, elem)
        return np.c_[g[:, 0, 0], g[:, 1, 1], g[:, 0, 1] + g[:, 1, 0]]

    def stress(self, x: np.ndarray, elem: np.ndarray | None = None) -> np.ndarray:
        """Total stress (n,3) [Pa] at points: the law at the point strain (initial law state)
        plus the model's initial stress σ₀(x), if any."""
        x = np.atleast_2d(np.asarray(x, float))
        s = np.asarray(self.model.law.evaluate(self.strain(x, elem)).stress)
        if self.model.initial_stress is not None:
            s = s + self.model.initial_stress_at(x)
        return s

    def compute_sif(self, **kw) -> list[dict[str, Any]]:
        """K_I, K_II at every crack tip by the interaction integral (see :mod:`nmm.sif`)."""
        from nmm.sif import stress_intensity_factors

        self.sif = stress_intensity_factors(self, **kw)
        return self.sif

    def write_vtu(self, path):
        """Manifold elements with displacement (jumps visible) and stress → .vtu (rank 0)."""
        from nmm.output import write_vtu

        return write_vtu(self, path)

    def plot(self, path, scale: float | None = None, field: str = "von_mises", title: str = "",
             exclude=(), reported_max: float | None = None):
        """PNG of the deformed body with cracks/joints drawn (rank 0); see :func:`nmm.output.plot_deformed`."""
        from nmm.output import plot_deformed

        return plot_deformed(self, path, scale=scale, field=field, title=title, exclude=exclude,
                             reported_max=reported_max)

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable key results."""
        return {
            "stats": self.stats.as_dict(),
            "max_displacement": float(np.abs(self.u.reshape(-1, self.model.nf, 2)[:, 0, :]).max()) if self.u.size else 0.0,
            "sif": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in s.items()} for s in self.sif],
        }
