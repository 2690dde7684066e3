"""Projections of mechanical states (ε, σ) onto material data, in the metric of design.md §4:

    d²((ε, σ), (e, s)) = ½ |ε − e|²_C + ½ |σ − s|²_{C⁻¹}

* :class:`NearestDataProjector` — the classical discrete data set (Kirchdoerfer & Ortiz 2016):
  the nearest data point, found by a KD-tree in metric coordinates (Lᵀε, L⁻¹σ), C = L Lᵀ.
* :class:`LawProjector` — a continuous manifold {(e, f(e))} of any law (analytic or learned),
  by batched Gauss–Newton (``learned.projection``).
* :class:`ExactLinearProjector` — closed form for a linear law σ = D e:
  (C + D C⁻¹ D) e = C ε + D C⁻¹ σ. A reference for tests.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree


class Projector(Protocol):
    """Anything with ``project(strain (n,3), stress (n,3)) -> (strain*, stress*)``: the material step."""

    def project(self, strain: np.ndarray, stress: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Material states (e, s) nearest to the mechanical states (ε, σ), each (n, 3)."""


def metric_coordinates(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matrices (A, B) with |ε|²_C = |A ε|², |σ|²_{C⁻¹} = |B σ|² (A = Lᵀ, B = L⁻¹)."""
    L = np.linalg.cholesky(np.asarray(C, dtype=float))
    return L.T, np.linalg.inv(L)


class NearestDataProjector:
    """Nearest point of a discrete data set {(ε_i, σ_i)} in the C-metric (KD-tree)."""

    def __init__(self, strain: np.ndarray, stress: np.ndarray, C: np.ndarray) -> None:
        self.strain, self.stress = np.asarray(strain, float), np.asarray(stress, float)
        self.A, self.B = metric_coordinates(C)
        self.tree = cKDTree(np.hstack([self.strain @ self.A.T, self.stress @ self.B.T]))

    def project(self, strain: np.ndarray, stress: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest data point in the metric of C, for every state (n,3) [-], (n,3) [Pa]."""
        _, idx = self.tree.query(np.hstack([strain @ self.A.T, stress @ self.B.T]), workers=-1)
        return self.strain[idx], self.stress[idx]


class ExactLinearProjector:
    """Projection onto σ = D e in closed form."""

    def __init__(self, D: np.ndarray, C: np.ndarray) -> None:
        Cinv = np.linalg.inv(C)
        self.D = np.asarray(D, float)
        self.M = np.linalg.inv(C + self.D @ Cinv @ self.D)
        self.P, self.Q = C, self.D @ Cinv

    def project(self, strain: np.ndarray, stress: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form nearest point on the linear manifold σ = D ε, for states (n,3), (n,3)."""
        e = (strain @ self.P.T + stress @ self.Q.T) @ self.M.T
        return e, e @ self.D.T


class LawProjector:
    """Projection onto the manifold {(e, law(e))} of a ConstitutiveLaw (analytic or learned)
    by batched Gauss–Newton (:func:`learned.projection.project`), warm-started from the
    previous call's projections (the fixed-point iterates move little between calls).
    Points go to the law's device when it has one (a neural law on CUDA)."""

    def __init__(self, law, C: np.ndarray, **options) -> None:
        self.law, self.C, self.options = law, np.asarray(C, float), options
        self._last: np.ndarray | None = None
        self.gauss_newton_iterations: list[int] = []
        #: law state (n, S) of the last converged step (laws with history), None before the
        #: first projection; held fixed by :meth:`project`, advanced only by :meth:`commit`
        self.state: np.ndarray | None = None

    def commit(self, strain_star: np.ndarray) -> None:
        """Advance the law state to the converged material strains e* (n,3) of a step:
        q ← state(e*; q). Nothing to do for a law without state."""
        if not getattr(self.law, "n_state", 0):
            return
        state = self.state if self.state is not None else self.law.initial_state(strain_star.shape[0])
        self.state = np.asarray(self.law.evaluate(np.asarray(strain_star, float), state).state, dtype=float)

    def project(self, strain: np.ndarray, stress: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest point on the law's manifold σ = f(ε) (Gauss–Newton, warm-started), states (n,3), (n,3)."""
        from learned.projection import project

        init = self._last if self._last is not None and self._last.shape == strain.shape else None
        state = None
        if getattr(self.law, "n_state", 0):  # the admissible set of this step: from the committed state
            if self.state is None or self.state.shape[0] != strain.shape[0]:
                self.state = np.asarray(self.law.initial_state(strain.shape[0]), dtype=float)
            state = self.state
        device = getattr(self.law, "device", None)
        if device is not None:
            import torch

            def put(a):
                return None if a is None else torch.as_tensor(a, dtype=torch.float64, device=device)

            out = project(self.law, put(strain), put(stress), self.C, init=put(init), state=put(state), **self.options)
            e, s = out.strain.detach().cpu().numpy(), out.stress.detach().cpu().numpy()
        else:
            out = project(self.law, strain, stress, self.C, init=init, state=state, **self.options)
            e, s = np.asarray(out.strain, float), np.asarray(out.stress, float)
        self.gauss_newton_iterations.append(int(out.iterations))
        self._last = e
        return e, s
