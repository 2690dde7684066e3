"""Small-strain elastoplastic reference laws with explicit internal state.

Both laws are defined in 3D on the Voigt components ``(xx, yy, zz, xy)`` (strain with
engineering shear γ_xy = 2 ε_xy, stress with τ_xy) and inherit the plane-strain /
plane-stress reduction of :class:`learned.law.ConstitutiveLaw`. They are rate-independent,
associative in the sense of generalised standard materials (J2) or optionally
non-associative (Drucker–Prager), and integrated by backward Euler (return mapping).

Internal state (N, 5), the same layout for both laws (:data:`STATE_NAMES`)::

    state[:, 0:4] = ε^p = (ε^p_xx, ε^p_yy, ε^p_zz, γ^p_xy)   plastic strain [-] (zz included:
                                                           in plane strain ε_zz = 0 but ε^p_zz ≠ 0)
    state[:, 4]   = α                                      hardening variable [-]

``evaluate(strain, state_old)`` returns the stress, the consistent (algorithmic) tangent
∂σ_{n+1}/∂ε_{n+1} and the trial state_{n+1}; a solver passes the state of the last
*converged* step and commits the returned one only when its step converges (the FEM
problem, NMM and the data generator do so). The law is a pure function of (ε, state_old).

Free energy and dissipation (both laws)::

    ψ(ε, ε^p, α) = ½ (ε − ε^p) : C : (ε − ε^p) + ½ H α²,   σ = C : (ε − ε^p),   A = H α
    D = σ : ε̇^p − A α̇ ≥ 0       (discrete: D_{n+1} = σ_{n+1} : Δε^p − H α_{n+1} Δα, per unit volume [J/m³])

Von Mises (:class:`J2Plasticity`)::

    f = q − (σ_y + H α),  q = √(3/2 s:s),  ε̇^p = λ̇ ∂f/∂σ = λ̇ (3/2) s/q,  α̇ = λ̇  (= ε̄̇^p)
    radial return: Δλ = f_trial / (3G + H), D_{n+1} = σ_y Δα ≥ 0 exactly.

Drucker–Prager with a hyperbolic apex (:class:`DruckerPrager`; tension positive, p = tr σ / 3)::

    f = √(J2 + δ²) + η p − ξ (c + H α),   g = √(J2 + δ²) + η̄ p,   ε̇^p = λ̇ ∂g/∂σ,  α̇ = ξ λ̇
    η = 3 tan φ / √(9 + 12 tan² φ),  ξ = 3 / √(9 + 12 tan² φ)  (plane-strain match to Mohr–Coulomb),
    η̄ likewise from the dilatancy angle ψ (η̄ = η: associative).

The hyperbola √(J2 + δ²) rounds the cone's apex (δ → 0 recovers the cone); δ < ξ c keeps the
stress-free state elastic. Closest-point projection: Newton on the 5 unknowns (σ, Δλ) per
point (batched 5×5 solves), and the consistent tangent from the same Jacobian,
∂σ/∂ε = E·[J⁻¹]_{σσ} (see :func:`closest_point_projection`). With associative flow
D = Δλ (ξ c − δ²/R) ≥ 0 for R = √(J2 + δ²) ≥ δ. Non-associative flow (η̄ < η) is allowed
without hardening only, where D = Δλ (ξ c − δ²/R + (η̄ − η) p) ≥ 0 for p ≤ 0 and
D = Δλ (R − δ²/R + η̄ p) ≥ 0 for p > 0; with H > 0 it could dissipate negatively in tension.

Arrays: numpy; a torch tensor is evaluated on the host and returned on its device.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from learned.backend import Array, is_torch
from learned.elastic import _DEV, _M, _check_elastic
from learned.law import ConstitutiveLaw, Plane

#: names of the state columns (both laws)
STATE_NAMES = ("plastic_strain_xx", "plastic_strain_yy", "plastic_strain_zz", "plastic_shear_xy", "hardening")
N_STATE = len(STATE_NAMES)
#: tensor components from engineering Voigt (xx, yy, zz, γ_xy) and back
_TO_TENSOR = np.array([1.0, 1.0, 1.0, 0.5])
_TO_ENGINEERING = np.array([1.0, 1.0, 1.0, 2.0])
#: J2 = ½ σᵀ D σ on stress Voigt (xx, yy, zz, xy): ∇J2 = D σ = (s_xx, s_yy, s_zz, 2 τ_xy)
_DJ2 = np.array(
    [
        [2 / 3, -1 / 3, -1 / 3, 0.0],
        [-1 / 3, 2 / 3, -1 / 3, 0.0],
        [-1 / 3, -1 / 3, 2 / 3, 0.0],
        [0.0, 0.0, 0.0, 2.0],
    ]
)


def _host(strain4: Array, state: Array) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], Array]]:
    """numpy copies of the inputs and a function returning arrays to the input's backend."""
    if is_torch(strain4):
        import torch

        like = strain4

        def back(x: np.ndarray) -> Array:
            return torch.as_tensor(x, dtype=like.dtype, device=like.device)

        st = state.detach().cpu().numpy() if is_torch(state) else np.asarray(state)
        return strain4.detach().cpu().numpy().astype(float), st.astype(float), back
    return np.asarray(strain4, dtype=float), np.asarray(state, dtype=float), lambda x: x


def plane_strain_dp_parameters(angle_deg: float) -> tuple[float, float]:
    """(η, ξ) of Drucker–Prager matching Mohr–Coulomb in plane strain for an angle [deg]."""
    t = math.tan(math.radians(angle_deg))
    root = math.sqrt(9.0 + 12.0 * t * t)
    return 3.0 * t / root, 3.0 / root


class ElastoplasticLaw(ConstitutiveLaw):
    """Common parts: isotropic elasticity (E, ν), state layout, dissipation."""

    n_state = N_STATE
    state_names = STATE_NAMES

    def _elastic(self, E: float, nu: float, plane: Plane, hardening: float) -> None:
        _check_elastic(E, nu, plane)
        if not (np.isfinite(hardening) and hardening >= 0):
            raise ValueError(f"hardening modulus must be >= 0, got {hardening}")
        self.E, self.nu, self.plane, self.H = float(E), float(nu), plane, float(hardening)
        self.K = E / (3 * (1 - 2 * nu))
        self.G = E / (2 * (1 + nu))
        self._C4 = self.K * np.outer(_M, _M) + 2 * self.G * _DEV
        self._C4_inv = np.linalg.inv(self._C4)

    def _trial(self, eps: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Elastic trial stress σ_tr = C (ε − ε^p_n), (N, 4)."""
        return (eps - state[:, :4]) @ self._C4.T

    def dissipation(self, strain: Array, state_old: Array) -> np.ndarray:
        """Dissipation of the step state_old → evaluate(strain, state_old) [J/m³], (N,).

        D_{n+1} = σ_{n+1} : Δε^p − H α_{n+1} Δα with all four stress components (σ_zz from
        the 3D law in plane strain, 0 in plane stress).
        """
        strain = np.asarray(strain, dtype=float)
        state_old = np.asarray(state_old, dtype=float)
        resp = self.evaluate(strain, state_old)
        s = np.asarray(resp.stress)
        new = np.asarray(resp.state)
        szz = self.out_of_plane_stress(strain, state_old)
        s4 = np.stack([s[:, 0], s[:, 1], np.asarray(szz), s[:, 2]], axis=1)
        d_ep = new[:, :4] - state_old[:, :4]
        d_alpha = new[:, 4] - state_old[:, 4]
        return (s4 * d_ep).sum(1) - self.H * new[:, 4] * d_alpha


class J2Plasticity(ElastoplasticLaw):
    """Von Mises plasticity with linear isotropic hardening, radial return (closed form).

    E [Pa], nu [-], yield_stress σ_y [Pa] (uniaxial), hardening H [Pa] (σ_Y(α) = σ_y + H α,
    α = equivalent plastic strain ε̄^p). Consistent tangent (Simo & Taylor 1985)::

        C_ep = K m⊗m + 2G (1 − 3GΔλ/q_tr) I_dev + 6G² (Δλ/q_tr − 1/(3G + H)) n⊗n,
        n = s_tr / ‖s_tr‖  (tensor components; symmetric).
    """

    kind = "j2_plasticity"

    def __init__(self, E: float, nu: float, yield_stress: float, hardening: float = 0.0,
                 plane: Plane = "strain") -> None:
        self._elastic(E, nu, plane, hardening)
        if not (np.isfinite(yield_stress) and yield_stress > 0):
            raise ValueError(f"yield_stress must be > 0, got {yield_stress}")
        self.yield_stress = float(yield_stress)

    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """Radial return on (xx, yy, zz, xy): stress (N,4) [Pa], consistent tangent (N,4,4) [Pa], new state (N,5)."""
        eps, st, back = _host(strain4, state)
        n = eps.shape[0]
        G, K, H = self.G, self.K, self.H
        sig_tr = self._trial(eps, st)
        p_tr = sig_tr[:, :3].mean(1)
        s_tr = sig_tr - p_tr[:, None] * _M  # tensor components (s_xy = τ_xy)
        norm_s = np.sqrt((s_tr[:, :3] ** 2).sum(1) + 2 * s_tr[:, 3] ** 2)
        q_tr = math.sqrt(1.5) * norm_s
        f_tr = q_tr - (self.yield_stress + H * st[:, 4])
        # a relative guard: a point exactly on the surface (round-off) stays elastic
        plastic = f_tr > 1e-12 * self.yield_stress
        dlam = np.where(plastic, f_tr / (3 * G + H), 0.0)
        unit = s_tr / np.where(norm_s > 0, norm_s, 1.0)[:, None]
        stress = sig_tr - (2 * G * math.sqrt(1.5) * dlam)[:, None] * unit
        new_state = st.copy()
        new_state[:, :4] += (math.sqrt(1.5) * dlam)[:, None] * unit * _TO_ENGINEERING
        new_state[:, 4] += dlam
        tangent = np.broadcast_to(self._C4, (n, 4, 4)).copy()
        if plastic.any():
            i = np.flatnonzero(plastic)
            ratio = dlam[i] / q_tr[i]
            u = unit[i]
            tangent[i] = (
                K * np.outer(_M, _M)[None]
                + (2 * G * (1 - 3 * G * ratio))[:, None, None] * _DEV[None]
                + (6 * G * G * (ratio - 1 / (3 * G + H)))[:, None, None] * u[:, :, None] * u[:, None, :]
            )
        return back(stress), back(tangent), back(new_state)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for summaries."""
        return {"kind": self.kind, "plane": self.plane, "E": self.E, "nu": self.nu,
                "yield_stress": self.yield_stress, "hardening": self.H}


def closest_point_projection(
    sig_tr: np.ndarray,
    alpha_old: np.ndarray,
    C_inv: np.ndarray,
    E: float,
    surface: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    scale: np.ndarray,
    max_iterations: int = 50,
    rtol: float = 1e-11,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward-Euler return to f = 0 for M plastic points: (σ (M,4), Δλ (M,), ∂σ/∂ε (M,4,4)).

    Unknowns x = (σ, Δλ) per point; residuals (the first row scaled by E to be a stress)::

        r_σ = E [C⁻¹ (σ − σ_tr) + Δλ ∇g(σ)] = 0,      r_f = f(σ, α_n + h Δλ) = 0

    ``surface(σ, α_n, Δλ)`` (rows of the points still iterating) returns
    (f (M,), ∇f (M,4), ∇g (M,4), ∇²g (M,4,4), ∂f/∂Δλ (M,)), gradients on stress Voigt (so
    ∇g_xy is the engineering plastic shear rate), ∂f/∂Δλ = h ∂f/∂α. Newton with the 5×5
    Jacobian J = [[E(C⁻¹ + Δλ∇²g), E∇g], [∇fᵀ, ∂f/∂Δλ]], stopped at ‖r‖ ≤ rtol·scale; a step
    that would make Δλ negative is shortened to halve Δλ instead, then a backtracking line
    search on ‖r‖ (vectorised; halving) globalises the iteration near the apex.
    Consistent tangent from J [dσ; dΔλ] = [E dε; 0] at the solution: ∂σ/∂ε = E [J⁻¹]_{σσ}.
    Raises RuntimeError when a point does not converge (none is returned unconverged).
    """
    m = sig_tr.shape[0]

    def residual(rows: np.ndarray, s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, df, dg, d2g, f_lam = surface(s, alpha_old[rows], d)
        r = np.empty((len(rows), 5))
        r[:, :4] = E * ((s - sig_tr[rows]) @ C_inv.T + d[:, None] * dg)
        r[:, 4] = f
        Ja = np.empty((len(rows), 5, 5))
        Ja[:, :4, :4] = E * (C_inv[None] + d[:, None, None] * d2g)
        Ja[:, :4, 4] = E * dg
        Ja[:, 4, :4] = df
        Ja[:, 4, 4] = f_lam
        return r, Ja

    sig = sig_tr.copy()
    dlam = np.zeros(m)
    active = np.arange(m)
    r, J = residual(active, sig, dlam)
    norm = np.sqrt((r * r).sum(1))
    for _ in range(max_iterations):
        keep = norm[active] > rtol * scale[active]
        active = active[keep]
        if active.size == 0:
            break
        step = np.linalg.solve(J[active], -r[active][:, :, None])[:, :, 0]
        # Δλ ≥ 0: a step that would make it negative is shortened to halve Δλ
        t = np.where(dlam[active] + step[:, 4] < 0, 0.5 * dlam[active] / np.maximum(-step[:, 4], 1e-300), 1.0)
        # backtracking line search on ‖r‖ (vectorised): halve t where ‖r‖ does not decrease
        pending = np.arange(active.size)
        for _ls in range(30):
            rows = active[pending]
            s_new = sig[rows] + t[pending, None] * step[pending, :4]
            d_new = dlam[rows] + t[pending] * step[pending, 4]
            r_new, J_new = residual(rows, s_new, d_new)
            n_new = np.sqrt((r_new * r_new).sum(1))
            ok = (n_new <= (1 - 1e-4 * t[pending]) * norm[rows]) | (n_new <= rtol * scale[rows])
            good = rows[ok]
            sig[good], dlam[good], r[good], J[good], norm[good] = s_new[ok], d_new[ok], r_new[ok], J_new[ok], n_new[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            t[pending] *= 0.5
        else:  # no decrease along the Newton direction: take the shortest step tried
            rows = active[pending]
            sig[rows], dlam[rows] = s_new, d_new
            r[rows], J[rows], norm[rows] = r_new, J_new, n_new
    else:
        active = active[norm[active] > rtol * scale[active]]
    if active.size:
        raise RuntimeError(f"return mapping did not converge at {active.size} point(s) in {max_iterations} iterations")
    rhs = np.zeros((m, 5, 4))
    rhs[:, :4, :] = E * np.eye(4)
    tangent = np.linalg.solve(J, rhs)[:, :4, :]
    return sig, dlam, tangent


class DruckerPrager(ElastoplasticLaw):
    """Drucker–Prager with a hyperbolic (smooth) apex and linear cohesion hardening.

    E [Pa], nu [-], cohesion c [Pa], friction_angle φ [deg], dilatancy_angle ψ [deg]
    (default ψ = φ, associative; ψ < φ only with H = 0), hardening H [Pa] (c(α) = c + H α),
    apex_smoothing δ [Pa]
    (default 0.1 ξ c; must be < ξ c). Tension positive. Yield and flow functions in the module
    docstring; return by :func:`closest_point_projection`.
    """

    kind = "drucker_prager"

    def __init__(self, E: float, nu: float, cohesion: float, friction_angle: float,
                 dilatancy_angle: float | None = None, hardening: float = 0.0,
                 apex_smoothing: float | None = None, plane: Plane = "strain") -> None:
        self._elastic(E, nu, plane, hardening)
        if not (np.isfinite(cohesion) and cohesion > 0):
            raise ValueError(f"cohesion must be > 0, got {cohesion}")
        if not 0 <= friction_angle < 90:
            raise ValueError(f"friction_angle must be in [0, 90) degrees, got {friction_angle}")
        psi = friction_angle if dilatancy_angle is None else dilatancy_angle
        if not 0 <= psi <= friction_angle:
            raise ValueError(f"dilatancy_angle must be in [0, friction_angle], got {psi}")
        if psi != friction_angle and hardening != 0:
            # D/Δλ = J2/R + η̄ p − ξ H α can be < 0 in tension when η̄ < η and H > 0
            raise ValueError("non-associative flow (dilatancy_angle < friction_angle) needs hardening = 0: "
                             "with hardening the dissipation can be negative")
        self.cohesion, self.friction_angle, self.dilatancy_angle = float(cohesion), float(friction_angle), float(psi)
        self.eta, self.xi = plane_strain_dp_parameters(friction_angle)
        self.eta_flow = plane_strain_dp_parameters(psi)[0]
        delta = 0.1 * self.xi * cohesion if apex_smoothing is None else float(apex_smoothing)
        if not 0 < delta < self.xi * cohesion:
            raise ValueError(f"apex_smoothing must be in (0, xi*cohesion = {self.xi * cohesion:g}) Pa, got {delta}")
        self.delta = delta

    def yield_function(self, stress4: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """f(σ, α) [Pa] on (N,4) stress Voigt."""
        j2 = 0.5 * np.einsum("ni,ij,nj->n", stress4, _DJ2, stress4)
        p = stress4[:, :3].mean(1)
        return np.sqrt(j2 + self.delta**2) + self.eta * p - self.xi * (self.cohesion + self.H * alpha)

    def _surface(self, s: np.ndarray, alpha_old: np.ndarray, dlam: np.ndarray):
        """f, ∇f, ∇g, ∇²g, ∂f/∂Δλ at stresses s (M,4) with α = α_n + ξ Δλ."""
        third = np.array([1 / 3, 1 / 3, 1 / 3, 0.0])
        grad_j2 = s @ _DJ2.T
        R = np.sqrt(0.5 * (s * grad_j2).sum(1) + self.delta**2)
        dR = grad_j2 / (2 * R[:, None])
        d2R = _DJ2[None] / (2 * R[:, None, None]) - dR[:, :, None] * dR[:, None, :] / R[:, None, None]
        alpha = alpha_old + self.xi * dlam
        f = R + self.eta * s[:, :3].mean(1) - self.xi * (self.cohesion + self.H * alpha)
        f_lam = np.full(s.shape[0], -self.xi * self.xi * self.H)
        return f, dR + self.eta * third, dR + self.eta_flow * third, d2R, f_lam

    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """Closest-point return on (xx, yy, zz, xy): stress (N,4) [Pa], consistent tangent (N,4,4) [Pa], new state (N,5)."""
        eps, st, back = _host(strain4, state)
        n = eps.shape[0]
        sig_tr = self._trial(eps, st)
        f_tr = self.yield_function(sig_tr, st[:, 4])
        plastic = f_tr > 1e-12 * self.xi * self.cohesion
        stress = sig_tr.copy()
        tangent = np.broadcast_to(self._C4, (n, 4, 4)).copy()
        new_state = st.copy()
        if plastic.any():
            i = np.flatnonzero(plastic)
            sig, dlam, tan = self._project(sig_tr[i], st[i, 4])
            stress[i], tangent[i] = sig, tan
            # Δε^p = C⁻¹ (σ_tr − σ) (engineering Voigt), α += ξ Δλ
            new_state[i, :4] += (sig_tr[i] - sig) @ self._C4_inv.T
            new_state[i, 4] += self.xi * dlam
        return back(stress), back(tangent), back(new_state)

    def _project(self, sig_tr: np.ndarray, alpha_old: np.ndarray):
        scale = np.maximum(np.sqrt((sig_tr * sig_tr).sum(1)), self.xi * self.cohesion)
        return closest_point_projection(sig_tr, alpha_old, self._C4_inv, self.E, self._surface, scale)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for summaries."""
        return {"kind": self.kind, "plane": self.plane, "E": self.E, "nu": self.nu,
                "cohesion": self.cohesion, "friction_angle": self.friction_angle,
                "dilatancy_angle": self.dilatancy_angle, "hardening": self.H,
                "apex_smoothing": self.delta}
