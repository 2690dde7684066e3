"""Joint laws: shear strength of a discontinuity (rock joint, slip surface, crack face).

Interface (same shape as the continuum law, batched over N contact points):

    evaluate(normal_stress (N,), slip (N,), slip_rate (N,), state (N,S)) → JointResponse
    advance(normal_stress (N,), slip_increment (N,), dt, state (N,S)) → new state (N,S)
    step_state(slip_increment (N,), dt, state (N,S)) → the state the step's strength reads (N,S)

A law with history (``n_state`` > 0, e.g. the band temperature and pore pressure of
learned.thermal_pressurisation) reads its state in ``evaluate`` and changes it only in
``advance``, which the solver calls once per contact at the end of an accepted step, with the
converged normal stress and slip increment. Within a step the solver reads the state's mean
over the step (``step_state``, for the iterate's slip increment), so that the strength it
applies is the one whose work ``advance`` records. Stateless laws keep the defaults (no change).

Sign convention: ``normal_stress`` σ_n > 0 is compression [Pa]; ``slip`` is the accumulated
|shear displacement| [m]; ``slip_rate`` the shear velocity [m/s]. Mohr–Coulomb strength

    τ_max = c + μ(slip, slip_rate) · σ_n          (σ_n ≥ −T; below that the joint opens)

with cohesion c [Pa] and tensile strength T [Pa]. Solvers apply it to a contact; whether a
joint has already broken (cohesion and tension lost) is the solver's contact state.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from learned.backend import Array, zeros


@dataclass(frozen=True)
class JointResponse:
    """strength τ_max (N,) [Pa], friction coefficient μ (N,) [-], new state (N,S)."""

    strength: Array
    friction: Array
    state: Array


class JointLaw(ABC):
    """Shear strength of a joint as a function of normal stress, slip and slip rate."""

    n_state: int = 0
    kind: str = "joint"

    def __init__(self, cohesion: float = 0.0, tensile_strength: float = 0.0) -> None:
        if cohesion < 0:
            raise ValueError(f"cohesion must be >= 0 Pa, got {cohesion}")
        if tensile_strength < 0:
            raise ValueError(f"tensile_strength must be >= 0 Pa, got {tensile_strength}")
        self.cohesion = float(cohesion)
        self.tensile_strength = float(tensile_strength)

    @abstractmethod
    def friction(self, slip: Array, slip_rate: Array) -> Array:
        """Friction coefficient μ (N,) [-]."""

    def evaluate(
        self, normal_stress: Array, slip: Array, slip_rate: Array, state: Array | None = None
    ) -> JointResponse:
        """Mohr–Coulomb strength τ_max = c + μ σ_n, batched."""
        if state is None:
            state = zeros((normal_stress.shape[0], self.n_state), normal_stress)
        mu = self.friction(slip, slip_rate)
        return JointResponse(self.cohesion + mu * normal_stress, mu, state)

    def initial_state(self, n: int) -> np.ndarray:
        """State (n, n_state) of n contacts that have not slid yet."""
        return np.zeros((n, self.n_state))

    def advance(self, normal_stress: np.ndarray, slip_increment: np.ndarray, dt: float, state: np.ndarray) -> np.ndarray:
        """State (N, n_state) after an accepted step of length dt [s] in which the contacts
        slipped by ``slip_increment`` (N,) [m] under ``normal_stress`` (N,) [Pa]; stateless
        laws return it unchanged."""
        return state

    def step_state(self, slip_increment: np.ndarray, dt: float, state: np.ndarray) -> np.ndarray:
        """The state (N, n_state) a step's strength reads: the state's mean over a step of
        length dt [s] in which the contacts slip by ``slip_increment`` (N,) [m], starting from
        ``state``, so that the strength a solver applies over the step, times the slip, is the
        work the law's :meth:`advance` puts into its state. A solver that iterates a step
        (DDA's open–close iteration) calls it with each iterate's slip. Default: ``state``
        (stateless laws; a law with history that keeps it returns its start-of-step state,
        one step behind, first order in dt)."""
        return state

    def describe(self) -> dict[str, Any]:
        """``{kind, cohesion [Pa], tensile_strength [Pa]}`` (subclasses add their parameters)."""
        return {"kind": self.kind, "cohesion": self.cohesion, "tensile_strength": self.tensile_strength}


def _check_angle(name: str, phi: float) -> float:
    if not 0.0 <= phi < 90.0:
        raise ValueError(f"{name} must be in [0, 90) degrees, got {phi}")
    return math.tan(math.radians(phi))


def _peak_and_residual(phi_peak: float, phi_residual: float) -> tuple[float, float]:
    """(μ_p, μ_r) = (tan φ_peak, tan φ_residual) of a weakening law; φ_residual ≤ φ_peak [deg]."""
    mu_p, mu_r = _check_angle("phi_peak", phi_peak), _check_angle("phi_residual", phi_residual)
    if phi_residual > phi_peak:
        raise ValueError(f"phi_residual ({phi_residual}) must not exceed phi_peak ({phi_peak})")
    return mu_p, mu_r


def _abs(x: Array) -> Array:
    return x.abs() if hasattr(x, "abs") else np.abs(x)


def _exp(x: Array) -> Array:
    return x.exp() if hasattr(x, "exp") else np.exp(x)


class CoulombFriction(JointLaw):
    """Constant friction angle φ [deg]: μ = tan φ."""

    kind = "coulomb"

    def __init__(self, phi: float, cohesion: float = 0.0, tensile_strength: float = 0.0) -> None:
        super().__init__(cohesion, tensile_strength)
        self.phi = float(phi)
        self.mu = _check_angle("phi", phi)

    def friction(self, slip: Array, slip_rate: Array) -> Array:
        """Constant μ = tan φ (N,), whatever the slip [m] and slip rate [m/s]."""
        return slip * 0.0 + self.mu

    def describe(self) -> dict[str, Any]:
        """The base description plus ``phi`` [deg]."""
        return {**super().describe(), "phi": self.phi}


class DisplacementWeakeningFriction(JointLaw):
    """Slip weakening: μ = μ_r + (μ_p − μ_r) exp(−slip / d_c); angles in degrees, d_c [m]."""

    kind = "displacement_weakening"

    def __init__(
        self,
        phi_peak: float,
        phi_residual: float,
        slip_c: float,
        cohesion: float = 0.0,
        tensile_strength: float = 0.0,
    ) -> None:
        super().__init__(cohesion, tensile_strength)
        self.mu_p, self.mu_r = _peak_and_residual(phi_peak, phi_residual)
        if not slip_c > 0:
            raise ValueError(f"slip_c must be > 0 m, got {slip_c}")
        self.phi_peak, self.phi_residual, self.slip_c = float(phi_peak), float(phi_residual), float(slip_c)

    def friction(self, slip: Array, slip_rate: Array) -> Array:
        """μ = μ_r + (μ_p − μ_r) exp(−|slip| / slip_c) (N,); slip [m]."""
        return self.mu_r + (self.mu_p - self.mu_r) * _exp(-_abs(slip) / self.slip_c)

    def describe(self) -> dict[str, Any]:
        """The base description plus peak / residual angles [deg] and slip_c [m]."""
        return {
            **super().describe(),
            "phi_peak": self.phi_peak,
            "phi_residual": self.phi_residual,
            "slip_c": self.slip_c,
        }


class VelocityWeakeningFriction(JointLaw):
    """Velocity weakening (vajont.md): μ(v) = μ_r + (μ_p − μ_r) exp(−|v| / v_c).

    phi_peak, phi_residual [deg]; v_c [m/s].
    """

    kind = "velocity_weakening"

    def __init__(
        self,
        phi_peak: float,
        phi_residual: float,
        v_c: float,
        cohesion: float = 0.0,
        tensile_strength: float = 0.0,
    ) -> None:
        super().__init__(cohesion, tensile_strength)
        self.mu_p, self.mu_r = _peak_and_residual(phi_peak, phi_residual)
        if not v_c > 0:
            raise ValueError(f"v_c must be > 0 m/s, got {v_c}")
        self.phi_peak, self.phi_residual, self.v_c = float(phi_peak), float(phi_residual), float(v_c)

    def friction(self, slip: Array, slip_rate: Array) -> Array:
        """μ = μ_r + (μ_p − μ_r) exp(−|v| / v_c) (N,); slip rate v [m/s]."""
        return self.mu_r + (self.mu_p - self.mu_r) * _exp(-_abs(slip_rate) / self.v_c)

    def describe(self) -> dict[str, Any]:
        """The base description plus peak / residual angles [deg] and v_c [m/s]."""
        return {
            **super().describe(),
            "phi_peak": self.phi_peak,
            "phi_residual": self.phi_residual,
            "v_c": self.v_c,
        }


def grouped_strength(
    laws: "Mapping[int, JointLaw | None]",
    group: np.ndarray,
    normal_stress: np.ndarray,
    slip: np.ndarray,
    slip_rate: np.ndarray,
    bonded: np.ndarray,
    state: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mohr–Coulomb strength of contacts that belong to several joints, one batched call per law.

    laws[g] is the joint law of group g (None: no strength); ``group`` (N,) the group of each
    contact; σ_n (N,) [Pa] (> 0 compression, clipped at 0 for friction); ``bonded`` (N,) says
    which contacts are intact: only they keep cohesion and tensile strength (a joint that has
    opened or slid has lost both). Returns, each (N,): the frictional strength μ σ_n [Pa]
    (the law's strength less its cohesion), the cohesion c of bonded contacts [Pa], their
    tensile strength T [Pa] and μ [-]; τ_max = frictional strength + cohesion.
    ``state`` (N, S), S ≥ every law's n_state: per-contact law state (a law reads its first
    n_state columns; None = no history).
    The one copy of this rule, shared by every solver with joints (DDA, NMM).
    """
    n = group.shape[0]
    tau, coh, tension, mu = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    sn = np.maximum(np.asarray(normal_stress, dtype=float), 0.0)
    # one law for every contact (the usual case): the whole arrays, without masks (the same floats)
    single = n > 0 and bool(np.all(group == group[0]))
    for g in (group[:1] if single else np.unique(group)):
        law = laws.get(int(g))
        if law is None:
            continue
        m = slice(None) if single else group == g
        st = None if state is None or law.n_state == 0 else np.array(np.asarray(state)[m, : law.n_state])
        r = law.evaluate(sn[m], np.abs(slip[m]), np.abs(slip_rate[m]), st)
        tau[m] = np.asarray(r.strength, dtype=float) - law.cohesion
        coh[m] = np.where(bonded[m], law.cohesion, 0.0)
        tension[m] = np.where(bonded[m], law.tensile_strength, 0.0)
        mu[m] = np.asarray(r.friction, dtype=float)
    return np.maximum(tau, 0.0), coh, tension, mu


def grouped_step_state(
    laws: "Mapping[int, JointLaw | None]",
    group: np.ndarray,
    slip_increment: np.ndarray,
    dt: float,
    state: np.ndarray,
) -> np.ndarray:
    """Per-contact law state (N, S) a step's strength reads (:meth:`JointLaw.step_state`), one
    batched call per law with history: |slip increment| (N,) [m] of the step's iterate, step
    dt [s]. Contacts of stateless laws keep their (unused) columns."""
    return _per_stateful_law(laws, group, state, lambda law, m, st: law.step_state(np.abs(slip_increment[m]), dt, st))


def _per_stateful_law(laws, group: np.ndarray, state: np.ndarray, call) -> np.ndarray:
    """A copy of ``state`` (N, S) with the first n_state columns of each law with history
    replaced by ``call(law, mask, its rows' state)``, one batched call per law."""
    out = np.array(state, dtype=float, copy=True)
    for g in np.unique(group):
        law = laws.get(int(g))
        if law is None or law.n_state == 0:
            continue
        m = group == g
        out[m, : law.n_state] = call(law, m, out[m, : law.n_state])
    return out


def grouped_advance(
    laws: "Mapping[int, JointLaw | None]",
    group: np.ndarray,
    normal_stress: np.ndarray,
    slip_increment: np.ndarray,
    dt: float,
    state: np.ndarray,
) -> np.ndarray:
    """Per-contact law state (N, S) after an accepted step, one batched ``advance`` per law
    with history: σ_n (N,) [Pa] (clipped at 0), |slip increment| (N,) [m], step dt [s].
    Contacts of stateless laws keep their (unused) columns."""
    sn = np.maximum(np.asarray(normal_stress, dtype=float), 0.0)
    return _per_stateful_law(laws, group, state,
                             lambda law, m, st: law.advance(sn[m], np.abs(slip_increment[m]), dt, st))
