"""Thermal pressurisation of a saturated shear band: a joint law with thermo-hydraulic state.

Physics (Vardoulakis 2002, Géotechnique 52(3); Rice 2006, J. Geophys. Res. 111, B05311;
Pinyol & Alonso 2010, Eng. Geol. 114). A thin band of thickness h inside the clay layer of a
slip surface is sheared at slip rate v. Its frictional work heats it; its pore water expands
more than the pores can drain, so the pore pressure rises and the effective normal stress —
and with it the strength — falls *during* sliding:

    τ = μ(v) · max(σ_n − p, 0)                                   shear strength [Pa]
    ρc · h · dT/dt = τ · v                                       heating of the band [W/m²]
    dp/dt = Λ · dT/dt − p / t_d,     t_d = h² / α_hy              pore pressure [Pa/s]

with μ(v) = μ_r + (μ_p − μ_r) exp(−|v| / v_c) (the clay's own velocity weakening; μ_p = μ_r
gives a constant μ). T and p are the *excess* temperature [K] and pore pressure [Pa] over
their ambient values: the ambient (hydrostatic) pore pressure p0 is already in σ_n, which
the solver computes as an effective stress (DDA applies the reservoir pressure on the block
faces), so the law's p0 is zero.

Modelling choices (the lumped, "per contact" form; the 1D diffusion form across the band is
not used):

* **No heat conduction out of the band (adiabatic).** Heat that leaves the localised band
  warms the adjacent saturated clay, which pressurises in the same way; lumping that heated
  zone into the band thickness h is the usual simplification (Vardoulakis 2002 treats the
  Vajont band as adiabatic over the event; Rice 2006's "adiabatic, undrained" limit). h is
  therefore the thermally active thickness, not the thickness of the whole clay layer.
* **Drainage as a relaxation** with t_d = h²/α_hy instead of 1D diffusion: it keeps the
  exact adiabatic–undrained limit and the drainage time scale, needs no grid across the band
  per contact, and for the clay values (α_hy ≲ 1e-8 m²/s, h ≈ 1 mm → t_d ≳ 100 s) drainage
  is slower than the event (≈ 45 s), so the detail of the drained profile is second order.

State per contact: (ΔT [K], r = p/σ_n [-]), shape (N, 2). The pore pressure is carried as
its ratio to the normal stress of the contact, so that p follows σ_n when σ_n changes
(undrained, Skempton-like B = r) and so that the state stays meaningful when a solver's
contact changes its tributary length (DDA: a vertex sliding from one edge of the slip surface
onto the next, a point contact at a hinge whose "stress" N/l has no physical length). At
constant σ_n the two forms are the same equations.

Time integration. Over a step in which σ_n, μ and v are held (the solver's converged values),
the ratio obeys a linear ODE, dr/dt = a (1 − r) − r/t_d with a = μΛv/(ρc h) (σ_n drops out),
so :meth:`advance` is exact for any step: with x = δ/δ_c (δ = v Δt the slip increment,
δ_c = ρc h/(μΛ) the weakening distance), y = Δt/t_d, z = x + y, r_eq = x/z,

    r₁ = r_eq + (r₀ − r_eq) e^{−z},
    ΔT = (x σ_n/Λ) [ (1 − r_eq) − (r₀ − r_eq)(1 − e^{−z})/z ].

Adiabatic–undrained check (y = 0): σ_n − p₁ = (σ_n − p₀) e^{−δ/δ_c}, i.e. Rice's closed form
τ(δ) = μ σ′_n exp(−δ/δ_c), and ρc h ΔT = ∫ τ dδ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from learned.backend import Array, zeros
from learned.joint import JointLaw, JointResponse, _abs, _exp, _peak_and_residual

#: column of the temperature rise [K] and of the pore-pressure ratio p/σ_n [-] in the state
TEMPERATURE, PRESSURE_RATIO = 0, 1


class ThermalPressurisationFriction(JointLaw):
    """τ = c + μ(v)·max(σ_n − p, 0) with the band's temperature and pore pressure as state.

    phi_peak, phi_residual [deg]   μ(v) = μ_r + (μ_p − μ_r) exp(−|v|/v_c)
    v_c [m/s]                      characteristic slip rate of μ(v)
    band_thickness h [m]           thermally active shear band
    heat_capacity ρc [J/(m³·K)]    volumetric heat capacity of the saturated band
    pressurisation Λ [Pa/K]        pore-pressure rise per kelvin, undrained
    hydraulic_diffusivity α_hy [m²/s]  drainage time t_d = h²/α_hy (0: undrained)
    """

    kind = "thermal_pressurisation"
    n_state = 2

    def __init__(
        self,
        phi_peak: float,
        phi_residual: float,
        v_c: float,
        band_thickness: float,
        heat_capacity: float,
        pressurisation: float,
        hydraulic_diffusivity: float = 0.0,
        cohesion: float = 0.0,
        tensile_strength: float = 0.0,
    ) -> None:
        super().__init__(cohesion, tensile_strength)
        self.mu_p, self.mu_r = _peak_and_residual(phi_peak, phi_residual)
        for name, v in (("v_c", v_c), ("band_thickness", band_thickness), ("heat_capacity", heat_capacity),
                        ("pressurisation", pressurisation)):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be > 0, got {v}")
        if not (math.isfinite(hydraulic_diffusivity) and hydraulic_diffusivity >= 0):
            raise ValueError(f"hydraulic_diffusivity must be >= 0 m^2/s, got {hydraulic_diffusivity}")
        self.phi_peak, self.phi_residual, self.v_c = float(phi_peak), float(phi_residual), float(v_c)
        self.band_thickness = float(band_thickness)
        self.heat_capacity = float(heat_capacity)
        self.pressurisation = float(pressurisation)
        self.hydraulic_diffusivity = float(hydraulic_diffusivity)

    # ------------------------------------------------------------------ derived scales
    @property
    def drainage_time(self) -> float:
        """t_d = h²/α_hy [s] (inf when undrained)."""
        if self.hydraulic_diffusivity == 0.0:
            return math.inf
        return self.band_thickness**2 / self.hydraulic_diffusivity

    def weakening_distance(self, mu: float | np.ndarray) -> float | np.ndarray:
        """δ_c = ρc h / (μ Λ) [m] (Rice 2006), for friction coefficient μ."""
        return self.heat_capacity * self.band_thickness / (mu * self.pressurisation)

    # ------------------------------------------------------------------ interface
    def friction(self, slip: Array, slip_rate: Array) -> Array:
        """Friction coefficient μ(v) [-] of the clay at slip rates v [m/s] (velocity weakening)."""
        return self.mu_r + (self.mu_p - self.mu_r) * _exp(-_abs(slip_rate) / self.v_c)

    def evaluate(self, normal_stress: Array, slip: Array, slip_rate: Array, state: Array | None = None) -> JointResponse:
        """τ_max = c + μ(v)·σ_n·max(1 − r, 0) (N,) [Pa] (p = r σ_n); the state is returned
        unchanged (it changes only in :meth:`advance`, at the end of an accepted step)."""
        if state is None:
            state = zeros((normal_stress.shape[0], self.n_state), normal_stress)
        mu = self.friction(slip, slip_rate)
        left = 1.0 - state[:, PRESSURE_RATIO]
        left = left.clamp(min=0.0) if hasattr(left, "clamp") else np.maximum(left, 0.0)
        return JointResponse(self.cohesion + mu * normal_stress * left, mu, state)

    @staticmethod
    def pore_pressure(normal_stress: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Excess pore pressure p = r σ_n (N,) [Pa]."""
        return np.asarray(state)[:, PRESSURE_RATIO] * np.maximum(np.asarray(normal_stress, dtype=float), 0.0)

    def advance(self, normal_stress: np.ndarray, slip_increment: np.ndarray, dt: float, state: np.ndarray) -> np.ndarray:
        """State after a step of length dt [s] with slip increment |δ| (N,) [m] at constant
        σ_n (N,) [Pa] (exact for constant σ_n, μ and v; see the module docstring)."""
        state = np.asarray(state, dtype=float)
        sn = np.maximum(np.asarray(normal_stress, dtype=float), 0.0)
        d = np.abs(np.asarray(slip_increment, dtype=float))
        T0, r0 = state[:, TEMPERATURE], np.clip(state[:, PRESSURE_RATIO], 0.0, 1.0)
        mu = np.asarray(self.friction(d, d / dt if dt > 0 else d * 0.0), dtype=float)
        x = d / self.weakening_distance(mu)
        z = x + dt / self.drainage_time
        zs = np.where(z > 0, z, 1.0)
        frac = np.where(z > 1e-12, -np.expm1(-z) / zs, 1.0 - 0.5 * z)  # (1 − e^{−z})/z
        r_eq = np.where(z > 0, x / zs, 0.0)
        r1 = r_eq + (r0 - r_eq) * np.exp(-z)
        dT = (x * sn / self.pressurisation) * ((1.0 - r_eq) - (r0 - r_eq) * frac)
        out = state.copy()
        out[:, TEMPERATURE] = T0 + np.maximum(dT, 0.0)
        out[:, PRESSURE_RATIO] = r1
        return out

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for summaries."""
        return {
            **super().describe(),
            "phi_peak": self.phi_peak, "phi_residual": self.phi_residual, "v_c": self.v_c,
            "band_thickness": self.band_thickness, "heat_capacity": self.heat_capacity,
            "pressurisation": self.pressurisation, "hydraulic_diffusivity": self.hydraulic_diffusivity,
        }
