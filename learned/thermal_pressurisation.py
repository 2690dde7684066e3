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

Two forms of the band, chosen by ``band_model``:

``"lumped"`` (the default; the equations above). Modelling choices:

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
τ(δ) = μ σ′_n exp(−δ/δ_c), and ρc h ΔT = ∫ τ dδ. Within the step a solver applies the strength
of r's mean over it, r̄ = r_eq + (r₀ − r_eq)(1 − e^{−z})/z (:meth:`step_state`), whose work
μ σ_n (1 − r̄) δ is ρc h ΔT: second order in Δt where the start's r₀ was first order.

``"diffusion"``: heat and pore fluid diffuse across the band into the wall rock (Rice 2006,
eqs. 2–3; Vardoulakis 2002). With y the distance from the mid-plane of the band (y ≥ 0 by
symmetry), χ(y) = 1 inside the band (y < h/2) and 0 outside,

    ∂T/∂t = α_th ∂²T/∂y² + χ τ v / (ρc h)
    ∂p/∂t = α_hy ∂²p/∂y² + Λ ∂T/∂t
    τ = μ(v) · max(σ_n − p̄, 0),   p̄ = mean of p over the band (|y| < h/2)

with ∂T/∂y = ∂p/∂y = 0 at y = 0 (symmetry) and at the far edge y = Y of the grid. Why this
form for Vajont: with the published thermal diffusivity of the saturated clay
(α_th ≈ 0.5–1 mm²/s, Rice 2006) heat leaves a 1 mm band in h²/α_th ≈ 1 s, far shorter than
the ≈ 45 s event, so the lumped form's adiabatic band is not a fair approximation; with
diffusion the weakening depends on the slip rate and, at large slip, slows from exp(−δ/δ_c)
to Rice's slip-on-a-plane decay. Limits, both tested: α_th = α_hy = 0 gives the lumped
adiabatic–undrained law exactly; h → 0 at constant v gives Rice's (2006, eq. 10)
τ = μ σ′_n exp(δ/L*) erfc(√(δ/L*)), L* = (4/μ²)(ρc/Λ)²(√α_hy + √α_th)²/v.

Grid: finite volumes across y ∈ [0, Y]: ``cells_in_band`` equal cells over the half band
h/2, then cells growing by ``cell_growth`` up to Y = h/2 + 6 √(max(α_th, α_hy) t_grid),
t_grid = ``diffusion_time`` (the longest time the grid must hold a diffusion front without
it reaching the insulated far edge; 6 diffusion lengths). The Laplacian is L = W⁻¹K
(W the cell widths, K symmetric), diagonalised once: L = W^{-1/2} Q diag(λ) Qᵀ W^{1/2}.

Time integration over a step of length Δt with σ_n, μ and v held (Strang splitting, second
order in Δt): D(Δt/2) R(Δt) D(Δt/2).
The step is written in θ = ΛT/σ_n and r = p/σ_n (both dimensionless; σ_n is held over the
step, so it drops out of the equations):
* D: the coupled diffusion, exact for the discrete Laplacian. In the modes of L (λ_k ≤ 0),
  θ̂_k ← e^{α_th λ_k t} θ̂_k and r̂_k ← e^{α_hy λ_k t} r̂_k + φ_k(t) θ̂_k with
  φ_k = α_th λ_k t (e^{α_th λ_k t} − e^{α_hy λ_k t}) / ((α_th − α_hy) λ_k t)
  (α_th λ_k t e^{α_th λ_k t} when equal): the pore pressure follows the temperature wherever
  heat goes.
* R: the heating, exact: every band cell gets the same increment, and the band mean obeys
  dr̄/dt = (v/δ_c)(1 − r̄), so Δr = Δθ = (1 − r̄)(1 − e^{−x}), x = δ/δ_c (ΔT = Δθ σ_n/Λ).
The band's heating (rate v/δ_c) competes with diffusion, so a step is cut into equal substeps
with x ≤ SUBSTEP_WEAKENING each. With α_th = α_hy = 0, D is the identity and a step is the
lumped form's exact update.

State per contact, shape (N, 2 + 2n): column 0 the band mean θ̄ [-] (temperature rise
T̄ = θ̄ σ_n/Λ, :meth:`band_temperature`), column 1 the band mean ratio r̄ = p̄/σ_n [-] (as in
the lumped form), then the n cell values of θ and the n of r. Carrying θ with σ_n as the
lumped form carries r (p and T follow σ_n when a contact's σ_n changes between steps) keeps
both bounded where a DDA contact's "stress" N/l_c jumps by orders of magnitude (a vertex
reaching a hinge, l_c → 0): carried in kelvin, such a contact's temperature (≈ 1e7 K
measured at the Vajont chair corner) would drive its r far outside [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from learned.backend import Array, zeros
from learned.joint import JointLaw, JointResponse, _abs, _exp, _peak_and_residual

#: column of the temperature rise [K] and of the pore-pressure ratio p/σ_n [-] in the state
TEMPERATURE, PRESSURE_RATIO = 0, 1
#: diffusion form: largest weakening x = δ/δ_c of one substep, and the most substeps per step
SUBSTEP_WEAKENING, MAX_SUBSTEPS = 0.025, 4000


#: the diffusion form's grid: equal cells over the half band, the growth factor of the cells
#: outside it, and the most cells a grid may have (:func:`band_grid`)
CELLS_IN_BAND, CELL_GROWTH, MAX_CELLS = 4, 1.2, 400


class ThermalPressurisationFriction(JointLaw):
    """τ = c + μ(v)·max(σ_n − p, 0) with the band's temperature and pore pressure as state.

    phi_peak, phi_residual [deg]   μ(v) = μ_r + (μ_p − μ_r) exp(−|v|/v_c)
    v_c [m/s]                      characteristic slip rate of μ(v)
    band_thickness h [m]           thermally active shear band
    heat_capacity ρc [J/(m³·K)]    volumetric heat capacity of the saturated band
    pressurisation Λ [Pa/K]        pore-pressure rise per kelvin, undrained
    hydraulic_diffusivity α_hy [m²/s]  lumped: drainage time t_d = h²/α_hy (0: undrained);
                                   diffusion: α_hy of ∂p/∂t = α_hy ∂²p/∂y² + Λ ∂T/∂t
    band_model                     "lumped" (n_state = 2) or "diffusion" (n_state = 2 + 2n)
    thermal_diffusivity α_th [m²/s]    diffusion form only (≥ 0)
    diffusion_time t_grid [s]      diffusion form: the grid reaches 6 √(α t_grid) beyond the band
    cells_in_band, cell_growth     diffusion form: cells over h/2, growth factor of the cells outside
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
        *,
        band_model: str = "lumped",
        thermal_diffusivity: float = 0.0,
        diffusion_time: float = 120.0,
        cells_in_band: int = CELLS_IN_BAND,
        cell_growth: float = CELL_GROWTH,
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
        if band_model not in ("lumped", "diffusion"):
            raise ValueError(f"band_model must be 'lumped' or 'diffusion', got {band_model!r}")
        self.band_model = band_model
        self.thermal_diffusivity = float(thermal_diffusivity)
        self.diffusion_time = float(diffusion_time)
        if band_model == "diffusion":
            if not (math.isfinite(thermal_diffusivity) and thermal_diffusivity >= 0):
                raise ValueError(f"thermal_diffusivity must be >= 0 m^2/s, got {thermal_diffusivity}")
            if not (math.isfinite(diffusion_time) and diffusion_time > 0):
                raise ValueError(f"diffusion_time must be > 0 s, got {diffusion_time}")
            if int(cells_in_band) < 1 or not (cell_growth >= 1.0):
                raise ValueError(f"cells_in_band must be >= 1 and cell_growth >= 1, got {cells_in_band}, {cell_growth}")
            self.cell_width = band_grid(self.band_thickness, max(self.thermal_diffusivity, self.hydraulic_diffusivity),
                                        self.diffusion_time, int(cells_in_band), float(cell_growth))
            self.in_band = np.arange(self.cell_width.size) < int(cells_in_band)
            self.n_state = 2 + 2 * self.cell_width.size
            self._modes = _laplacian_modes(self.cell_width)
            self._propagators: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

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

    def _lumped_step(self, slip_increment: np.ndarray, dt: float, y: float) -> tuple[np.ndarray, ...]:
        """The lumped update's terms over a step of length dt [s] with slip increment |δ| (N,) [m]
        and drained fraction y = Δt/t_d (module docstring): x = δ/δ_c(μ(|δ|/Δt)), z = x + y,
        (1 − e^{−z})/z and r_eq = x/z; :meth:`advance` and :meth:`step_state` share them."""
        d = np.abs(np.asarray(slip_increment, dtype=float))
        mu = np.asarray(self.friction(d, d / dt if dt > 0 else d * 0.0), dtype=float)
        x = d / self.weakening_distance(mu)
        z = x + y
        zs = np.where(z > 0, z, 1.0)
        frac = np.where(z > 1e-12, -np.expm1(-z) / zs, 1.0 - 0.5 * z)  # (1 − e^{−z})/z
        r_eq = np.where(z > 0, x / zs, 0.0)
        return x, z, frac, r_eq

    def advance(self, normal_stress: np.ndarray, slip_increment: np.ndarray, dt: float, state: np.ndarray) -> np.ndarray:
        """State after a step of length dt [s] with slip increment |δ| (N,) [m] at constant
        σ_n (N,) [Pa] (lumped: exact for constant σ_n, μ and v; diffusion: Strang splitting;
        see the module docstring)."""
        if self.band_model == "diffusion":
            return self._advance_diffusion(normal_stress, slip_increment, dt, state)
        state = np.asarray(state, dtype=float)
        sn = np.maximum(np.asarray(normal_stress, dtype=float), 0.0)
        T0, r0 = state[:, TEMPERATURE], np.clip(state[:, PRESSURE_RATIO], 0.0, 1.0)
        x, z, frac, r_eq = self._lumped_step(slip_increment, dt, dt / self.drainage_time)
        r1 = r_eq + (r0 - r_eq) * np.exp(-z)
        dT = (x * sn / self.pressurisation) * ((1.0 - r_eq) - (r0 - r_eq) * frac)
        out = state.copy()
        out[:, TEMPERATURE] = T0 + np.maximum(dT, 0.0)
        out[:, PRESSURE_RATIO] = r1
        return out

    def step_state(self, slip_increment: np.ndarray, dt: float, state: np.ndarray) -> np.ndarray:
        """The state a step's strength reads (N, n_state): ``state`` with r (column 1) replaced
        by its mean over a step of length dt [s] with slip increment |δ| (N,) [m] at the rate
        v = |δ|/dt (see the module docstring: x = δ/δ_c, z = x + Δt/t_d, r_eq = x/z):

            r̄ = r_eq + (r₀ − r_eq)(1 − e^{−z})/z,

        so that μ σ_n (1 − r̄) δ, the work of the strength over the step, is ρc h ΔT, the heat
        :meth:`advance` puts into the band (the lumped form exactly). The diffusion form takes
        the band mean r̄ with the heating alone (z = x: diffusion moves the band mean over
        h²/α ≳ 1 s, not within a step). Without it the solver's strength holds the start's r
        over the step, one step behind: its work exceeds the law's heat by 1.07–1.58 × for
        slip increments of 0.1–1 δ_c (tests/test_thermal_pressurisation.py), and the strength,
        μ σ_n (1 − r) with 1 − r ~ 1e-3 on a pressurised band, lags by a factor of that order."""
        state = np.asarray(state, dtype=float)
        if dt <= 0 or (self.band_model == "diffusion" and not np.any(np.asarray(slip_increment) != 0)):
            return state
        r0 = np.clip(state[:, PRESSURE_RATIO], 0.0, 1.0)
        _, _, frac, r_eq = self._lumped_step(slip_increment, dt, dt / self.drainage_time if self.band_model == "lumped" else 0.0)
        out = state.copy()
        out[:, PRESSURE_RATIO] = r_eq + (r0 - r_eq) * frac
        return out

    # ------------------------------------------------------------------ diffusion form
    def _propagator(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(E_th, E_hy, F) (n, n) over a time t [s]: T ← E_th T, r ← E_hy r + b F T (exact
        coupled diffusion of the discrete Laplacian; module docstring)."""
        key = float(t)
        hit = self._propagators.get(key)
        if hit is not None:
            return hit
        lam, left, right = self._modes
        a_th, a_hy = self.thermal_diffusivity * lam * t, self.hydraulic_diffusivity * lam * t  # ≤ 0
        e_th, e_hy = np.exp(a_th), np.exp(a_hy)
        diff = a_th - a_hy
        same = np.abs(diff) <= 1e-12 * np.maximum(np.abs(a_th), 1e-300)
        # φ = a_th (e^{a_th} − e^{a_hy}) / (a_th − a_hy); a_th e^{a_th} when a_th = a_hy
        phi = np.where(same, a_th * e_th, a_th * (e_th - e_hy) / np.where(same, 1.0, diff))
        out = tuple((left * d) @ right for d in (e_th, e_hy, phi))
        if len(self._propagators) > 16:
            self._propagators.clear()
        self._propagators[key] = out  # type: ignore[assignment]
        return out  # type: ignore[return-value]

    def _advance_diffusion(self, normal_stress, slip_increment, dt, state) -> np.ndarray:
        state = np.asarray(state, dtype=float)
        n = self.cell_width.size
        d = np.abs(np.asarray(slip_increment, dtype=float))
        # θ = ΛT/σ_n and r = p/σ_n: the step's equations hold σ_n, so σ_n drops out
        T, r = state[:, 2:2 + n].copy(), state[:, 2 + n:2 + 2 * n].copy()
        w = self.cell_width[self.in_band]
        mu = np.asarray(self.friction(d, d / dt if dt > 0 else d * 0.0), dtype=float)
        x = d / self.weakening_distance(mu)
        # The band heats at rate v/δ_c while diffusion cools it: the splitting is accurate only
        # while a substep's x = δ/δ_c is small, so the step is cut into equal substeps of
        # x ≤ SUBSTEP_WEAKENING (measured error against Rice's closed form: tests).
        n_sub = int(min(max(math.ceil(float(x.max(initial=0.0)) / SUBSTEP_WEAKENING), 1), MAX_SUBSTEPS)) if dt > 0 else 1
        x_sub = x / n_sub
        # [θ r] ← [θ r] P, P = [[E_thᵀ, Fᵀ], [0, E_hyᵀ]]: one product per half substep
        P = None
        if dt > 0:
            E_th, E_hy, F = self._propagator(0.5 * dt / n_sub)
            P = np.block([[E_th.T, F.T], [np.zeros((n, n)), E_hy.T]])
        u = np.concatenate([T, r], axis=1)
        band = np.concatenate([self.in_band, self.in_band])
        weight = np.concatenate([np.where(self.in_band, self.cell_width, 0.0), np.zeros(n)]) / w.sum()
        gain = -np.expm1(-x_sub)
        for _ in range(n_sub):
            if P is not None:
                u = u @ P
            r_band = u[:, n:] @ weight[:n]
            u[:, band] += (np.clip(1.0 - r_band, 0.0, None) * gain)[:, None]
            if P is not None:
                u = u @ P
        T, r = u[:, :n], u[:, n:]
        out = np.empty((state.shape[0], self.n_state))
        out[:, TEMPERATURE] = (T[:, self.in_band] @ w) / w.sum()
        out[:, PRESSURE_RATIO] = (r[:, self.in_band] @ w) / w.sum()
        out[:, 2:2 + n], out[:, 2 + n:] = T, r
        return out

    def band_temperature(self, normal_stress: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Band mean temperature rise (N,) [K]: the lumped form's column 0; the diffusion
        form's θ̄ σ_n/Λ."""
        state = np.asarray(state, dtype=float)
        if self.band_model == "lumped":
            return state[:, TEMPERATURE].copy()
        return state[:, TEMPERATURE] * np.maximum(np.asarray(normal_stress, dtype=float), 0.0) / self.pressurisation

    def profile(self, normal_stress: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Diffusion form: cell centres y (n,) [m], temperature rise T = θ σ_n/Λ (N, n) [K]
        and pore pressure p = r σ_n (N, n) [Pa] across the half band and the wall rock."""
        n = self.cell_width.size
        y = np.cumsum(self.cell_width) - 0.5 * self.cell_width
        state = np.asarray(state, dtype=float)
        sn = np.maximum(np.asarray(normal_stress, dtype=float), 0.0)[:, None]
        return y, state[:, 2:2 + n] * sn / self.pressurisation, state[:, 2 + n:] * sn

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for summaries."""
        out = {
            **super().describe(),
            "phi_peak": self.phi_peak, "phi_residual": self.phi_residual, "v_c": self.v_c,
            "band_thickness": self.band_thickness, "heat_capacity": self.heat_capacity,
            "pressurisation": self.pressurisation, "hydraulic_diffusivity": self.hydraulic_diffusivity,
        }
        if self.band_model == "diffusion":
            out.update(band_model=self.band_model, thermal_diffusivity=self.thermal_diffusivity,
                       diffusion_time=self.diffusion_time, grid_cells=int(self.cell_width.size),
                       grid_depth=float(self.cell_width.sum()))
        return out


def band_grid(h: float, alpha: float, t_grid: float, cells_in_band: int, growth: float) -> np.ndarray:
    """Cell widths (n,) [m] across y ∈ [0, Y]: ``cells_in_band`` equal cells over h/2, then
    cells growing by ``growth`` (the last one trimmed) to Y = h/2 + 6 √(α t_grid); only the
    band when α = 0 (no diffusion)."""
    first = 0.5 * h / cells_in_band
    widths = [first] * cells_in_band
    outside = 6.0 * math.sqrt(alpha * t_grid)
    w, covered = first, 0.0
    while covered < outside * (1 - 1e-12):
        w = w * growth
        step = min(w, outside - covered)
        if step < 0.5 * w and len(widths) > cells_in_band:  # fold a sliver into the last cell
            widths[-1] += step
            break
        widths.append(step)
        covered += step
        if len(widths) > MAX_CELLS:
            raise ValueError(f"band grid: more than {MAX_CELLS} cells (h = {h} m, 6 sqrt(alpha t) = {outside} m); "
                             "raise cell_growth or cells_in_band")
    return np.asarray(widths, dtype=float)


def _laplacian_modes(width: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Modes of the finite-volume Laplacian L = W⁻¹K on cells of widths ``width`` (n,) [m]
    with zero flux at both ends: (λ (n,) [1/m²], W^{-1/2}Q (n, n), QᵀW^{1/2} (n, n)), so that
    exp(t α L) = (W^{-1/2}Q) diag(e^{α λ t}) (QᵀW^{1/2})."""
    n = width.size
    K = np.zeros((n, n))
    if n > 1:
        centre = np.cumsum(width) - 0.5 * width
        g = 1.0 / np.diff(centre)  # conductance between neighbouring cells
        i = np.arange(n - 1)
        K[i, i] -= g
        K[i + 1, i + 1] -= g
        K[i, i + 1] += g
        K[i + 1, i] += g
    s = 1.0 / np.sqrt(width)
    lam, Q = np.linalg.eigh(s[:, None] * K * s[None, :])
    lam = np.minimum(lam, 0.0)  # round-off: K is negative semi-definite
    return lam, s[:, None] * Q, Q.T * np.sqrt(width)[None, :]
