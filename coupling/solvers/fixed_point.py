"""The fixed-point engine x = G(x): constant relaxation, Aitken, Anderson (IQN-ILS).

Where it applies: every fixed-point iteration of the continuum layer, today the
data-driven solver (:mod:`coupling.solvers.datadriven`), and the coupling loops to come
(they import it from here). Newton solves (FEM, NMM) and DDA's open–close iteration are not
fixed-point iterations of this kind and do not use it.

Residual r_k = G(x_k) − x_k; stop when ‖r_k‖ / max(‖G(x_k)‖, floor) ≤ rtol.

* ``ConstantRelaxation(ω)``:  x_{k+1} = x_k + ω r_k  (ω = 1 is plain Picard)
* ``Aitken(ω₀)`` (Irons–Tuck dynamic relaxation):
  ω_k = −ω_{k−1} r_{k−1}·(r_k − r_{k−1}) / ‖r_k − r_{k−1}‖²,  x_{k+1} = x_k + ω_k r_k
* ``Anderson(m, β)`` (Anderson mixing, algebraically the IQN-ILS of preCICE/Kratos):
  γ = argmin ‖r_k − ΔR γ‖ over the last m differences ΔR = [r_i+1 − r_i], ΔX likewise,
  x_{k+1} = x_k − ΔX γ + β (r_k − ΔR γ)

Vectors are the *local* parts of distributed arrays: every inner product is reduced over
``comm``, so all ranks take the same decisions and the iteration is the same on N ranks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from mpi4py import MPI


def _dot(a: np.ndarray, b: np.ndarray, comm: MPI.Comm) -> float:
    return comm.allreduce(float(np.dot(a, b)), op=MPI.SUM)


class Accelerator(ABC):
    """Turns (x_k, G(x_k)) into x_{k+1}."""

    name = "accelerator"

    def __init__(self) -> None:
        self.comm: MPI.Comm = MPI.COMM_SELF

    def reset(self) -> None:
        """Forget history (called at the start of a solve)."""

    @abstractmethod
    def step(self, x: np.ndarray, gx: np.ndarray) -> np.ndarray:
        """Next iterate."""


class ConstantRelaxation(Accelerator):
    """x ← x + ω (G(x) − x) (ω = 1: Picard)."""

    name = "constant"

    def __init__(self, omega: float = 1.0) -> None:
        super().__init__()
        if not 0 < omega <= 2:
            raise ValueError(f"relaxation omega must be in (0, 2], got {omega}")
        self.omega = omega

    def step(self, x: np.ndarray, gx: np.ndarray) -> np.ndarray:
        """The next iterate x + ω (G(x) − x)."""
        return x + self.omega * (gx - x)


class Aitken(Accelerator):
    """Aitken's dynamic relaxation: ω_k from the last two residuals r = G(x) − x."""

    name = "aitken"

    def __init__(self, omega0: float = 0.5, omega_max: float = 10.0) -> None:
        super().__init__()
        self.omega0, self.omega_max = omega0, omega_max
        self.reset()

    def reset(self) -> None:
        """Forget the history (ω back to ω₀)."""
        self.omega = self.omega0
        self._r_prev: np.ndarray | None = None

    def step(self, x: np.ndarray, gx: np.ndarray) -> np.ndarray:
        """The next iterate x + ω_k r with ω_k = −ω_{k−1} r_{k−1}·Δr / |Δr|²."""
        r = gx - x
        if self._r_prev is not None:
            dr = r - self._r_prev
            denom = _dot(dr, dr, self.comm)
            if denom > 0:
                omega = -self.omega * _dot(self._r_prev, dr, self.comm) / denom
                self.omega = float(np.clip(omega, -self.omega_max, self.omega_max))
        self._r_prev = r.copy()
        return x + self.omega * r


class Anderson(Accelerator):
    """Anderson acceleration of depth m (type II, with mixing β)."""

    name = "anderson"

    def __init__(self, depth: int = 5, beta: float = 1.0, regularisation: float = 1e-12) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"Anderson depth must be >= 1, got {depth}")
        self.depth, self.beta, self.reg = depth, beta, regularisation
        self.reset()

    def reset(self) -> None:
        """Forget the history."""
        self._x: list[np.ndarray] = []
        self._r: list[np.ndarray] = []

    def step(self, x: np.ndarray, gx: np.ndarray) -> np.ndarray:
        """The next iterate from the least-squares combination of the last m residuals."""
        r = gx - x
        self._x.append(x.copy())
        self._r.append(r.copy())
        if len(self._r) > self.depth + 1:
            self._x.pop(0)
            self._r.pop(0)
        if len(self._r) == 1:
            return x + self.beta * r
        dR = np.stack([b - a for a, b in zip(self._r[:-1], self._r[1:])], axis=1)
        dX = np.stack([b - a for a, b in zip(self._x[:-1], self._x[1:])], axis=1)
        gram = self.comm.allreduce(dR.T @ dR, op=MPI.SUM)
        rhs = self.comm.allreduce(dR.T @ r, op=MPI.SUM)
        scale = max(np.trace(gram), 1e-300)
        gamma = np.linalg.solve(gram + self.reg * scale * np.eye(len(rhs)), rhs)
        return x - dX @ gamma + self.beta * (r - dR @ gamma)


@dataclass
class FixedPointResult:
    """The fixed point x, whether it converged, iterations and the change ‖G(x) − x‖ / ‖G(x)‖ per iteration."""

    x: np.ndarray
    converged: bool
    iterations: int
    residuals: list[float] = field(default_factory=list)  # relative ‖G(x) − x‖ / ‖G(x)‖

    def as_dict(self) -> dict:
        """``{converged, iterations, residual_history}`` for summaries."""
        return {"converged": self.converged, "iterations": self.iterations, "residual_history": self.residuals}


def make_accelerator(method: str, **options) -> Accelerator:
    """By name, as in case files: ``constant`` | ``aitken`` | ``anderson``."""
    table = {"constant": ConstantRelaxation, "picard": ConstantRelaxation, "aitken": Aitken, "anderson": Anderson}
    if method not in table:
        raise ValueError(f"fixed-point method must be one of {sorted(table)}, got {method!r}")
    return table[method](**options)


def solve_fixed_point(
    G: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    accelerator: Accelerator | None = None,
    *,
    rtol: float = 1e-8,
    max_iterations: int = 100,
    comm: MPI.Comm = MPI.COMM_SELF,
    floor: float = 1e-300,
    callback: Callable[[int, float], None] | None = None,
) -> FixedPointResult:
    """Iterate x ← accelerator(x, G(x)) until ‖G(x) − x‖ / max(‖G(x)‖, floor) ≤ rtol.

    Returns the last evaluated G(x) as ``x`` when converged (it is the better iterate).
    ``callback(k, change)`` after every iteration; when it returns True the iteration stops
    there (not converged, ``x`` the last iterate).
    """
    acc = accelerator or ConstantRelaxation(1.0)
    acc.comm = comm
    acc.reset()
    x = np.array(x0, dtype=float, copy=True)
    history: list[float] = []
    for k in range(1, max_iterations + 1):
        gx = G(x)
        r = gx - x
        rel = float(np.sqrt(_dot(r, r, comm)) / max(np.sqrt(_dot(gx, gx, comm)), floor))  # a float, not np.float64
        history.append(rel)
        if callback and callback(k, rel):  # asked to stop (SIGINT/SIGTERM): the last iterate, not converged
            return FixedPointResult(x, False, k, history)
        if not np.isfinite(rel):
            return FixedPointResult(x, False, k, history)
        if rel <= rtol:
            return FixedPointResult(gx, True, k, history)
        x = acc.step(x, gx)
    return FixedPointResult(x, False, max_iterations, history)
