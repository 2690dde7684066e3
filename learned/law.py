"""The law interface: the one seam between physics solvers and (learned) materials.

Conventions (design.md §3)
--------------------------
* Small strain, 2D Voigt order ``(xx, yy, xy)`` with engineering shear γ_xy = 2 ε_xy.
* Batched: ``evaluate(strain (N,3), state (N,S))`` → stress (N,3) [Pa],
  consistent tangent ∂σ/∂ε (N,3,3) [Pa], new state (N,S).
* numpy arrays or torch tensors on any device; the output lives where the input lives.
* Plane strain (ε_zz = 0) or plane stress (σ_zz = 0) is a property of the law.

Laws that are defined in 3D implement :meth:`ConstitutiveLaw.evaluate_3d` on the four
components ``(xx, yy, zz, xy)``; the base class reduces them to the plane condition:
plane strain takes the in-plane rows, plane stress solves σ_zz(ε_zz) = 0 by a batched
Newton iteration and condenses the tangent, C_ab − C_az C_zb / C_zz.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from learned.backend import Array, abs_max, stack, zeros

Plane = Literal["strain", "stress"]
PLANES: tuple[str, ...] = ("strain", "stress")

_IN_PLANE = [0, 1, 3]  # (xx, yy, xy) within (xx, yy, zz, xy)


@dataclass(frozen=True)
class LawResponse:
    """Result of one batched law evaluation.

    stress  : (N, 3) Cauchy stress (σ_xx, σ_yy, τ_xy) [Pa]
    tangent : (N, 3, 3) consistent tangent ∂σ/∂ε [Pa]
    state   : (N, S) updated internal state (S = law.n_state, may be 0)
    """

    stress: Array
    tangent: Array
    state: Array


class ConstitutiveLaw(ABC):
    """A small-strain 2D constitutive law σ = f(ε; state)."""

    #: number of internal state variables per point
    n_state: int = 0
    #: "strain" or "stress"
    plane: Plane = "strain"
    #: short name used in case files and summaries
    kind: str = "law"

    # ------------------------------------------------------------------ interface
    def evaluate(self, strain: Array, state: Array | None = None) -> LawResponse:
        """Stress, tangent and new state at N points.

        strain : (N, 3) small strain (ε_xx, ε_yy, γ_xy), engineering shear [-]; numpy or torch
        state  : (N, S) internal state (None: the law's initial state)
        Returns a :class:`LawResponse`: stress (N, 3) [Pa], tangent (N, 3, 3) [Pa], state (N, S).
        """
        if strain.ndim != 2 or strain.shape[1] != 3:
            raise ValueError(f"strain must have shape (N, 3), got {tuple(strain.shape)}")
        if state is None:
            state = self.initial_state(strain.shape[0], like=strain)
        if self.plane == "strain":
            eps4 = stack([strain[:, 0], strain[:, 1], zeros((strain.shape[0],), strain), strain[:, 2]])
            s4, c4, new_state = self.evaluate_3d(eps4, state)
            return LawResponse(s4[:, _IN_PLANE], c4[:, _IN_PLANE][:, :, _IN_PLANE], new_state)
        return self._plane_stress(strain, state)

    def stress(self, strain: Array, state: Array | None = None) -> Array:
        """Stress only (N, 3)."""
        return self.evaluate(strain, state).stress

    def out_of_plane_stress(self, strain: Array, state: Array | None = None) -> Array | None:
        """σ_zz (N,) [Pa]: zero in plane stress; from the 3D law in plane strain; None if unknown."""
        if self.plane == "stress":
            return strain[:, 0] * 0.0
        if state is None:
            state = self.initial_state(strain.shape[0], like=strain)
        try:
            eps4 = stack([strain[:, 0], strain[:, 1], zeros((strain.shape[0],), strain), strain[:, 2]])
            return self.evaluate_3d(eps4, state)[0][:, 2]
        except NotImplementedError:
            return None

    def initial_state(self, n: int, like: Array | None = None) -> Array:
        """Initial internal state (N, S), zeros by default."""
        return zeros((n, self.n_state), like if like is not None else np.zeros(0))

    @abstractmethod
    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """Stress (N,4) [Pa], tangent (N,4,4) [Pa], state (N,S) on components (xx, yy, zz, xy).

        Every law declares it. Laws defined in 3D implement it and inherit :meth:`evaluate`
        (plane strain: ε_zz = 0; plane stress: σ_zz = 0 by Newton). Laws defined directly
        in 2D override :meth:`evaluate` and implement this by raising NotImplementedError,
        so that :meth:`out_of_plane_stress` answers None.
        """

    def reference_stiffness(self) -> np.ndarray:
        """A (3,3) stiffness [Pa] representative of small strains (the tangent at ε = 0).

        Used where a solver needs a fixed stiffness: penalty scaling, DDA block
        stiffness, the metric C of the projection onto a manifold.
        """
        return np.asarray(self.evaluate(np.zeros((1, 3))).tangent[0], dtype=float)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for summaries."""
        return {"kind": self.kind, "plane": self.plane}

    # ------------------------------------------------------------------ plane stress
    _PLANE_STRESS_MAX_IT = 30
    _PLANE_STRESS_RTOL = 1e-12

    def _plane_stress(self, strain: Array, state: Array) -> LawResponse:
        """Solve σ_zz(ε_zz) = 0 pointwise by Newton's method and condense the tangent."""
        n = strain.shape[0]
        ezz = zeros((n,), strain)
        for _ in range(self._PLANE_STRESS_MAX_IT):
            eps4 = stack([strain[:, 0], strain[:, 1], ezz, strain[:, 2]])
            s4, c4, new_state = self.evaluate_3d(eps4, state)
            scale = max(abs_max(s4), 1e-300)
            if abs_max(s4[:, 2]) <= self._PLANE_STRESS_RTOL * scale:
                break
            ezz = ezz - s4[:, 2] / c4[:, 2, 2]
        else:
            raise RuntimeError(
                f"{type(self).__name__}: plane-stress iteration for sigma_zz = 0 did not converge"
            )
        c = c4[:, _IN_PLANE][:, :, _IN_PLANE]
        cz = c4[:, _IN_PLANE, 2]  # (N,3) ∂σ_a/∂ε_zz
        zc = c4[:, 2, _IN_PLANE]  # (N,3) ∂σ_zz/∂ε_b
        czz = c4[:, 2, 2]
        c = c - cz[:, :, None] * zc[:, None, :] / czz[:, None, None]
        return LawResponse(s4[:, _IN_PLANE], c, new_state)


def von_mises(stress: np.ndarray, szz: np.ndarray | None = None) -> np.ndarray:
    """Von Mises stress (N,) [Pa] of Voigt stresses (N,3) = (σxx, σyy, τxy) [Pa] and σzz (N,).

    σ_vm = √(½[(σxx − σyy)² + (σyy − σzz)² + (σzz − σxx)²] + 3 τxy²); ``szz`` None means
    σzz = 0 (plane stress). In plane strain pass the law's :meth:`ConstitutiveLaw.out_of_plane_stress`.
    The one definition every solver and report uses.
    """
    stress = np.asarray(stress, dtype=float)
    sxx, syy, sxy = stress[:, 0], stress[:, 1], stress[:, 2]
    szz = np.zeros_like(sxx) if szz is None else np.asarray(szz, dtype=float)
    return np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2) + 3 * sxy**2)
