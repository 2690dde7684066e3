"""A learned elastoplastic law with explicit, physically meaningful state (issue 16, item 3).

Choice: a **thermodynamics-consistent return-mapping model** whose ingredients are learned,
rather than a recurrent / state-space network. The state is the plastic strain and a
hardening variable, dissipation ≥ 0 holds on every step *by construction* (not by a penalty),
the update is the same backward-Euler closest-point projection as the reference laws, and
Newton gets the exact consistent tangent. A black-box recurrent network gives none of these
for free. See docs/plasticity.md.

Model (2D Voigt (xx, yy, xy), engineering shear; state (N, 4) = (εᵖ_xx, εᵖ_yy, γᵖ_xy, α))::

    free energy    ψ = ½ (ε − εᵖ)ᵀ C (ε − εᵖ) + ½ H α²,     C = L Lᵀ + c_min I  (SPD, learned)
    yield          f(σ, α) = R + bᵀx − k,   R = √(xᵀ P x + δ² κ²),   x = σ / s,   k = 1 + H α / s
                   κ = 1 ("additive", the default and the shipped checkpoints) or κ = k ("scaled":
                   the rounding grows with the surface, so linear hardening is exactly linear)
                   P = M Mᵀ + p_min I (SPD, learned), b (3,) learned, H = softplus(h) ≥ 0 learned,
                   s [Pa] the stress scale of the data (fixed), δ = 0.1 (smooth, like a DP apex)
    flow (associative, generalised standard, thermodynamic force A = −Hα of α):
                   Δεᵖ = μ ∇ₓf,  Δα = μ s ∂f/∂A = μ h,  h = 1 − δ²κ/R (scaled), 1 (additive); μ ≥ 0

f is convex in (σ, A) (R is a norm of an affine map of (x, A)) and f(0, 0) = δ − 1 < 0, so at
the end of every plastic step D = σ·Δεᵖ + A Δα = μ s (x·∇ₓf + A ∂f/∂A) ≥ μ s (f − f(0, 0))
= μ s (1 − δ) > 0 (convexity: z·∇f(z) ≥ f(z) − f(0)).
The family holds von Mises-like (b = 0), pressure-dependent Drucker–Prager-like (b ∝ m) and
anisotropic (Hill-like) yield surfaces.

Return mapping: residuals r_σ = C⁻¹(σ − σ_tr) + μ ∇ₓf = 0, r_f = f = 0, r_α = α − α_n − μ h = 0,
Newton on (σ, μ, α) (J: :meth:`ReturnMappingModel._system`) with a backtracking line search;
the consistent tangent is [J⁻¹]_{σσ} (scaled). For training the converged solution x* is differentiated implicitly by
one Newton step with the Jacobian detached, x = x* − J*⁻¹ r(x*; θ), which has the exact
derivative dx*/dθ = −J⁻¹ ∂r/∂θ, and the state carries gradients through the path (BPTT).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from learned.backend import Array, is_torch
from learned.data_region import unavailable
from learned.law import ConstitutiveLaw, LawResponse

DELTA = 0.1
STATE_NAMES = ("plastic_strain_xx", "plastic_strain_yy", "plastic_shear_xy", "hardening")
YIELD_FORMS = ("scaled", "additive")


_TRACE4 = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64)
#: q² = xᵀ _MISES4 x (von Mises, engineering shear on (xx, yy, zz, xy)); p² = xᵀ _VOLUME4 x
_MISES4 = 1.5 * torch.tensor([[2 / 3, -1 / 3, -1 / 3, 0], [-1 / 3, 2 / 3, -1 / 3, 0], [-1 / 3, -1 / 3, 2 / 3, 0],
                              [0, 0, 0, 2.0]], dtype=torch.float64)
_VOLUME4 = torch.outer(_TRACE4, _TRACE4) / 9.0


def _lower(n: int, values: Tensor) -> Tensor:
    """A lower-triangular (n, n) matrix from n(n+1)/2 values."""
    idx = torch.tril_indices(n, n)
    out = values.new_zeros((n, n))
    out[idx[0], idx[1]] = values
    return out


class ReturnMappingModel(nn.Module):
    """Learnable C, P, b, H of the model in the module docstring (float64).

    stiffness : (3,3) [Pa] initial elastic stiffness (SPD), e.g. a least-squares fit
    stress_scale : s [Pa], the stress at which x = σ/s is O(1) (yield near |x| ≈ 1 initially)
    yield_matrix : initial P (3,3), SPD (default identity); hardening : initial H [Pa]
    """

    kind = "constitutive"
    arch = "return_mapping"

    def __init__(self, stiffness: Any, stress_scale: float, hardening: float | None = None,
                 yield_matrix: Any = None, isotropic: bool = False, yield_form: str = "additive") -> None:
        super().__init__()
        C = torch.as_tensor(np.asarray(stiffness, dtype=float), dtype=torch.float64)
        if C.shape not in ((3, 3), (4, 4)):
            raise ValueError(f"stiffness must be (3,3) or (4,4), got {tuple(C.shape)}")
        n = self.n = C.shape[0]
        C = 0.5 * (C + C.T)
        scale = float(torch.diagonal(C).mean())
        if not (scale > 0 and stress_scale > 0):
            raise ValueError("stiffness must have a positive diagonal and stress_scale must be > 0")
        evals, evecs = torch.linalg.eigh(C / scale)
        C0 = (evecs * evals.clamp_min(1e-3)) @ evecs.T
        idx = torch.tril_indices(n, n)
        eye = torch.eye(n, dtype=torch.float64)
        self.register_buffer("c_scale", torch.tensor(scale, dtype=torch.float64))
        self.register_buffer("s", torch.tensor(float(stress_scale), dtype=torch.float64))
        self.c_chol = nn.Parameter(torch.linalg.cholesky(C0 - 1e-4 * eye)[idx[0], idx[1]])
        P0 = eye if yield_matrix is None else torch.as_tensor(np.asarray(yield_matrix, dtype=float))
        w, V = torch.linalg.eigh(0.5 * (P0 + P0.T) - 1e-3 * eye)  # P = M Mᵀ + 1e-3 I ≈ P0 (a singular P0 allowed)
        self.p_chol = nn.Parameter(torch.linalg.cholesky((V * w.clamp_min(1e-6)) @ V.T)[idx[0], idx[1]].clone())
        self.b = nn.Parameter(torch.zeros(n, dtype=torch.float64))
        self.isotropic = bool(isotropic)
        if yield_form not in YIELD_FORMS:
            raise ValueError(f"yield_form must be one of {YIELD_FORMS}, got {yield_form!r}")
        #: "scaled": the apex rounding grows with the yield radius, κ = k (exact linear hardening);
        #: "additive": κ = 1 (the training default; checkpoints written before the form existed)
        self.yield_form = yield_form
        if self.isotropic:
            # P = a·(von Mises form) + c·m mᵀ/9, b = β m/3 on (xx, yy, zz, xy), m = (1, 1, 1, 0):
            # f = √(a q²/s² + c p²/s² + δ²) + β p/s − 1 − Hα/s, an isotropic pressure-dependent surface
            # (von Mises: c = β = 0; Drucker–Prager: c = 0, β = 3η·(s/ξc)…). a, c ≥ 0 by softplus.
            if n != 4:
                raise ValueError("an isotropic yield surface needs the 4 components (xx, yy, zz, xy)")
            self.iso = nn.Parameter(torch.tensor([math.log(math.expm1(1.0)), math.log(math.expm1(1e-3)), 0.0],
                                                 dtype=torch.float64))
        h0 = 0.05 * scale if hardening is None else float(hardening)
        self.h = nn.Parameter(torch.tensor(math.log(math.expm1(max(h0 / scale, 1e-8))), dtype=torch.float64))
        self.meta: dict[str, Any] = {"plane": "strain"}

    # ------------------------------------------------------------------ ingredients
    @property
    def config(self) -> dict[str, Any]:
        """Architecture record saved in checkpoints."""
        return {"arch": self.arch, "components": self.n, "isotropic": self.isotropic, "yield_form": self.yield_form}

    def scaling(self) -> dict[str, float]:
        """Strain and stress scales [-], [Pa] of the normalised variables."""
        return {"stress_scale": float(self.s), "stiffness_scale": float(self.c_scale)}

    @classmethod
    def empty(cls, components: int = 3, isotropic: bool = False, yield_form: str = "additive") -> "ReturnMappingModel":
        """A placeholder of the right shapes, to load a state_dict into (checkpoints; a checkpoint
        without ``yield_form`` predates it and is ``"additive"``)."""
        return cls(np.eye(components), 1.0, isotropic=isotropic, yield_form=yield_form)

    def stiffness(self) -> Tensor:
        """Elastic stiffness C (k,k) [Pa] of the learned quadratic free energy (SPD)."""
        L = _lower(self.n, self.c_chol)
        return self.c_scale * (L @ L.T + 1e-4 * torch.eye(self.n, dtype=L.dtype))

    def hardening(self) -> Tensor:
        """Isotropic hardening modulus H [Pa] (≥ 0)."""
        return self.c_scale * nn.functional.softplus(self.h)

    def yield_matrix(self) -> Tensor:
        """Positive (semi)definite P of the convex yield function f = √(xᵀPx + δ²) + bᵀx − 1 − Hα/s."""
        if self.isotropic:
            a, c = nn.functional.softplus(self.iso[:2])
            return a * _MISES4.to(self.iso.dtype) + c * _VOLUME4.to(self.iso.dtype)
        M = _lower(self.n, self.p_chol)
        return M @ M.T + 1e-3 * torch.eye(self.n, dtype=M.dtype)

    def yield_linear(self) -> Tensor:
        """The vector b of the linear (pressure) term of f."""
        if self.isotropic:
            return self.iso[2] * _TRACE4.to(self.iso.dtype) / 3.0
        return self.b

    def yield_surface(self) -> tuple[Tensor, Tensor, Tensor]:
        """(P, H, b): the yield matrix, hardening modulus [Pa] and linear term, computed once by
        :meth:`_project` for all its Newton iterations (the parameters do not change there)."""
        return self.yield_matrix(), self.hardening(), self.yield_linear()

    def yield_parts(self, sigma: Tensor, alpha: Tensor, surface: tuple[Tensor, Tensor, Tensor] | None = None):
        """f (N,), ∇ₓf (N,n), ∇²ₓf (N,n,n), ∂f/∂α (N,), ∂∇ₓf/∂α (N,n), the hardening flow
        h (N,) (Δα = μ h) and its derivatives ∂h/∂x (N,n), ∂h/∂α (N,) at σ (N,n), α (N,);
        ``surface``: (P, H, b) of :meth:`yield_surface` when already computed.

        f = R + bᵀx − k, R = √(xᵀPx + δ²κ²), k = 1 + Hα/s; κ = k ("scaled") or 1 ("additive").
        h = −(s/H) ∂f/∂α = 1 − c δ²κ/R (c = 1 scaled, 0 additive): the associative flow of the
        hardening variable, so that f convex in (σ, −Hα) gives D ≥ 0 (module docstring).
        """
        P, H, b = self.yield_surface() if surface is None else surface
        x = sigma / self.s
        Px = x @ P
        Hs = H / self.s
        k = 1.0 + Hs * alpha
        c = 1.0 if self.yield_form == "scaled" else 0.0
        kappa = k if c else torch.ones_like(k)
        R = torch.sqrt((x * Px).sum(1) + DELTA**2 * kappa**2)
        f = R + x @ b - k
        grad = Px / R[:, None] + b
        hess = P / R[:, None, None] - Px[:, :, None] * Px[:, None, :] / (R**3)[:, None, None]
        dR_da = c * DELTA**2 * kappa * Hs / R
        f_a = dR_da - Hs
        grad_a = -Px * (dR_da / R**2)[:, None]
        h = 1.0 - c * DELTA**2 * kappa / R
        h_x = Px * (c * DELTA**2 * kappa / R**3)[:, None]
        h_a = -c * DELTA**2 * Hs * (1.0 / R - DELTA**2 * kappa**2 / R**3)
        return f, grad, hess, f_a, grad_a, h, h_x, h_a

    # ------------------------------------------------------------------ update
    def _system(self, sigma, mu, alpha, sig_tr, alpha_n, C_inv, surface=None):
        """Scaled residual (N,n+2) [Pa] and Jacobian (N,n+2,n+2) in the unknowns (σ, μ, α):
        r = (c(C⁻¹(σ − σ_tr) + μ∇ₓf), s f, s(α − α_n − μ h))."""
        f, g, hs, f_a, g_a, h, h_x, h_a = self.yield_parts(sigma, alpha, surface)
        c, s = self.c_scale, self.s
        r = torch.cat([c * ((sigma - sig_tr) @ C_inv.T + mu[:, None] * g), (s * f)[:, None],
                       (s * (alpha - alpha_n - mu * h))[:, None]], dim=1)
        k = self.n
        J = sigma.new_empty((sigma.shape[0], k + 2, k + 2))
        J[:, :k, :k] = c * (C_inv + mu[:, None, None] * hs / s)
        J[:, :k, k] = c * g
        J[:, :k, k + 1] = c * mu[:, None] * g_a
        J[:, k, :k] = g
        J[:, k, k] = 0.0
        J[:, k, k + 1] = s * f_a
        J[:, k + 1, :k] = -mu[:, None] * h_x
        J[:, k + 1, k] = -s * h
        J[:, k + 1, k + 1] = s * (1.0 - mu * h_a)
        return r, J

    def _project(self, sig_tr, alpha_n, C_inv, max_iterations=60, rtol=1e-12):
        """Converged (σ, μ, α, J) for plastic points (no autograd)."""
        sig, mu, alpha = sig_tr.clone(), sig_tr.new_zeros(sig_tr.shape[0]), alpha_n.clone()
        surface = self.yield_surface()  # once: every Newton iteration and line-search trial uses it
        r, J = self._system(sig, mu, alpha, sig_tr, alpha_n, C_inv, surface)
        scale = torch.clamp(sig_tr.norm(dim=1), min=float(self.s))
        norm = r.norm(dim=1)
        active = torch.arange(sig.shape[0])
        k = self.n
        for _ in range(max_iterations):
            active = active[norm[active] > rtol * scale[active]]
            if active.numel() == 0:
                break
            step = torch.linalg.solve(J[active], -r[active])
            t = torch.ones(active.numel(), dtype=sig.dtype)
            neg = mu[active] + step[:, k] < 0
            t[neg] = (0.5 * mu[active][neg] / (-step[neg, k]).clamp_min(1e-300)).clamp(max=1.0)
            pending = torch.arange(active.numel())
            for _ls in range(30):
                rows = active[pending]
                s_new = sig[rows] + t[pending, None] * step[pending, :k]
                m_new = mu[rows] + t[pending] * step[pending, k]
                a_new = alpha[rows] + t[pending] * step[pending, k + 1]
                r_new, J_new = self._system(s_new, m_new, a_new, sig_tr[rows], alpha_n[rows], C_inv, surface)
                n_new = r_new.norm(dim=1)
                ok = (n_new <= (1 - 1e-4 * t[pending]) * norm[rows]) | (n_new <= rtol * scale[rows])
                if _ls == 29:
                    ok = torch.ones_like(ok)
                good = rows[ok]
                sig[good], mu[good], alpha[good] = s_new[ok], m_new[ok], a_new[ok]
                r[good], J[good], norm[good] = r_new[ok], J_new[ok], n_new[ok]
                pending = pending[~ok]
                if pending.numel() == 0:
                    break
                t[pending] *= 0.5
        else:
            active = active[norm[active] > rtol * scale[active]]
        if active.numel():
            raise RuntimeError(f"learned return mapping did not converge at {active.numel()} point(s)")
        return sig, mu, alpha, J

    def step(self, strain: Tensor, eps_p: Tensor, alpha: Tensor, tangent: bool = True):
        """One backward-Euler step: σ (N,n), C_alg (N,n,n) or None, εᵖ (N,n), α (N,).

        Differentiable in the parameters and in (εᵖ_n, α_n, ε) when autograd is on.
        """
        C = self.stiffness()
        C_inv = torch.linalg.inv(C)
        sig_tr = (strain - eps_p) @ C.T
        f_tr = self.yield_parts(sig_tr, alpha)[0]
        plastic = (f_tr > 1e-12).detach()
        sigma, new_ep, new_alpha = sig_tr, eps_p, alpha
        k = self.n
        tan = C.expand(strain.shape[0], k, k).clone() if tangent else None
        if bool(plastic.any()):
            i = torch.nonzero(plastic).flatten()
            with torch.no_grad():
                s_star, mu_star, a_star, J_star = self._project(sig_tr[i].detach(), alpha[i].detach(), C_inv.detach())
            if torch.is_grad_enabled():
                # implicit differentiation: one Newton step from the converged point, J detached
                r, _ = self._system(s_star, mu_star, a_star, sig_tr[i], alpha[i], C_inv)
                corr = torch.linalg.solve(J_star, r)
                s_i, a_i = s_star - corr[:, :k], a_star - corr[:, k + 1]
            else:
                s_i, a_i = s_star, a_star
            sigma = sig_tr.clone()
            sigma[i] = s_i
            new_ep = eps_p.clone()
            new_ep[i] = strain[i] - s_i @ C_inv.T  # εᵖ = ε − C⁻¹σ (exact at the solution)
            new_alpha = alpha.clone()
            new_alpha[i] = a_i
            if tangent:
                rhs = torch.zeros((i.numel(), k + 2, k), dtype=strain.dtype)
                rhs[:, :k, :] = self.c_scale * torch.eye(k, dtype=strain.dtype)
                tan[i] = torch.linalg.solve(J_star, rhs)[:, :k, :].detach()
        return sigma, tan, new_ep, new_alpha

    def embed(self, strain2d: Tensor) -> Tensor:
        """In-plane strain (..., 3) → the model's components: (xx, yy, 0, xy) when n = 4 (plane strain)."""
        if self.n == 3:
            return strain2d
        zero = torch.zeros_like(strain2d[..., :1])
        return torch.cat([strain2d[..., :2], zero, strain2d[..., 2:]], dim=-1)

    def in_plane(self, x: Tensor) -> Tensor:
        """The (xx, yy, xy) components of a model vector (..., n)."""
        return x if self.n == 3 else x[..., [0, 1, 3]]

    def run_paths(self, strain: Tensor) -> Tensor:
        """In-plane stress (P,M,3) along in-plane strain paths (P,M,3) from the virgin state (differentiable)."""
        n_paths, n_steps, _ = strain.shape
        e = self.embed(strain)
        eps_p = strain.new_zeros((n_paths, self.n))
        alpha = strain.new_zeros(n_paths)
        out = []
        for k in range(n_steps):
            s, _, eps_p, alpha = self.step(e[:, k], eps_p, alpha, tangent=False)
            out.append(self.in_plane(s))
        return torch.stack(out, dim=1)


class LearnedPlasticLaw(ConstitutiveLaw):
    """The :class:`ReturnMappingModel` as a law, float64 on the CPU.

    State (N, n+1) = (εᵖ, α): n = 3 (εᵖ_xx, εᵖ_yy, γᵖ_xy), or n = 4 with εᵖ_zz (plane strain:
    ε_zz = 0, σ_zz carried by the model; the in-plane tangent block is the plane-strain tangent).
    """

    kind = "learned_plasticity"

    def __init__(self, model: ReturnMappingModel, plane: str | None = None, source: str | None = None) -> None:
        self.plane = plane or model.meta.get("plane", "strain")
        if model.n == 4 and self.plane != "strain":
            raise ValueError("a 4-component return-mapping model (with σ_zz) is a plane-strain law")
        self.source = source
        base = copy.deepcopy(model).to(dtype=torch.float64).eval()
        for p in base.parameters():
            p.requires_grad_(False)
        self.model = base
        self.n_state = base.n + 1
        self.state_names = (STATE_NAMES if base.n == 3 else
                            ("plastic_strain_xx", "plastic_strain_yy", "plastic_strain_zz", "plastic_shear_xy", "hardening"))

    def _step(self, strain: np.ndarray, state: np.ndarray | None, tangent: bool = True):
        x = self.model.embed(torch.from_numpy(np.ascontiguousarray(strain, dtype=np.float64)))
        st = (torch.zeros((x.shape[0], self.n_state), dtype=torch.float64) if state is None
              else torch.from_numpy(np.ascontiguousarray(state, dtype=np.float64)))
        k = self.model.n
        with torch.no_grad():
            s, c, ep, a = self.model.step(x, st[:, :k], st[:, k], tangent=tangent)
        return s, c, torch.cat([ep, a[:, None]], dim=1)

    def evaluate(self, strain: Array, state: Array | None = None) -> LawResponse:
        """Stress (N,3) [Pa], consistent tangent (N,3,3) [Pa] and new state from strains (N,3) and the state of the last converged step."""
        if strain.ndim != 2 or strain.shape[1] != 3:
            raise ValueError(f"strain must have shape (N, 3), got {tuple(strain.shape)}")
        torch_in = is_torch(strain)
        e = strain.detach().cpu().numpy() if torch_in else strain
        st = None if state is None else (state.detach().cpu().numpy() if is_torch(state) else state)
        s, c, new = self._step(e, st)
        ip = [0, 1, 2] if self.model.n == 3 else [0, 1, 3]
        out = (s[:, ip], c[:, ip][:, :, ip], new)
        if torch_in:
            return LawResponse(*(t.to(strain.device, strain.dtype) for t in out))
        return LawResponse(*(t.numpy() for t in out))

    def out_of_plane_stress(self, strain: Array, state: Array | None = None) -> Array | None:
        """σ_zz (N,) [Pa] at in-plane strains (N,3) [-] from the state (N, n+1) of the last converged step.

        Plane stress: 0. Plane strain with a 4-component model: the model's own σ_zz, the
        component zz of the same backward-Euler step as :meth:`evaluate` (ε_zz = 0),
        σ_zz = [C (ε − εᵖ)]_zz after the return mapping (εᵖ_zz ≠ 0 once plastic), so that
        von Mises uses the (xx, yy, zz, xy) stress the model computed. Plane strain with a
        3-component model: None (it carries no σ_zz). numpy in → numpy out, torch in → torch
        out, like :meth:`evaluate`.
        """
        if strain.ndim != 2 or strain.shape[1] != 3:
            raise ValueError(f"strain must have shape (N, 3), got {tuple(strain.shape)}")
        if self.plane == "stress":
            return strain[:, 0] * 0.0
        if self.model.n == 3:
            return None
        torch_in = is_torch(strain)
        e = strain.detach().cpu().numpy() if torch_in else strain
        st = None if state is None else (state.detach().cpu().numpy() if is_torch(state) else state)
        szz = self._step(e, st, tangent=False)[0][:, 2]
        return szz.to(strain.device, strain.dtype) if torch_in else szz.numpy()

    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """Not defined in 3D: this law works on the plane components it was trained on (raises NotImplementedError)."""
        raise NotImplementedError("the learned plastic law is evaluated through its 2D interface only")

    def dissipation(self, strain: Array, state_old: Array) -> np.ndarray:
        """D = σ·Δεᵖ − Hα_{n+1}Δα of the step from state_old [J/m³], (N,), all n components."""
        state_old = np.asarray(state_old, dtype=float)
        s, _, new = self._step(np.asarray(strain, dtype=float), state_old)
        s, new = s.numpy(), new.numpy()
        k = self.model.n
        H = float(self.model.hardening())
        return (s * (new[:, :k] - state_old[:, :k])).sum(1) - H * new[:, k] * (new[:, k] - state_old[:, k])

    def out_of_distribution_report(self) -> dict[str, Any]:
        """``available: false``: a return-mapping checkpoint keeps no data region (its input is a
        strain path and a state, not a point of a strain box), so nothing is counted or checked."""
        return unavailable("a return-mapping checkpoint keeps no data region: its evaluations are not checked")

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for summaries."""
        out: dict[str, Any] = {"kind": self.kind, "plane": self.plane, "model": self.model.config}
        if self.source:
            out["checkpoint"] = self.source
        return out


# ---------------------------------------------------------------------------- training
def _mises_matrix(nu: float) -> np.ndarray:
    """P with xᵀPx = q²(σ) / s² for in-plane σ = s x and σ_zz = ν(σ_xx + σ_yy) (elastic plane strain)."""
    T = np.array([[1.0, 0, 0], [0, 1.0, 0], [nu, nu, 0], [0, 0, 1.0]])
    D = np.array([[2 / 3, -1 / 3, -1 / 3, 0], [-1 / 3, 2 / 3, -1 / 3, 0], [-1 / 3, -1 / 3, 2 / 3, 0], [0, 0, 0, 2.0]])
    return 1.5 * T.T @ D @ T


def initial_guess(strain: np.ndarray, stress: np.ndarray, components: int = 3) -> tuple[np.ndarray, float, np.ndarray]:
    """(C (n,n) [Pa], s [Pa], P (n,n)) from path data (P,M,3), the start of training.

    C: least squares on the smaller half of the first steps (elastic for a material loaded
    from rest). The yield surface starts as von Mises in plane strain (P from the ν of C)
    through the elastic limit s: the 95th percentile of the von Mises stress over the samples
    whose stress is within 5 % of C ε (virgin elastic states; the median of all samples when
    fewer than 10 are).
    Training then moves P, b and H freely (pressure dependence, anisotropy, hardening).
    components = 4 (plane strain with σ_zz): C isotropic from the fitted λ = C₁₂ and G = C₃₃,
    P the von Mises form on (xx, yy, zz, xy).
    """
    e1, s1 = strain[:, 0], stress[:, 0]
    small = np.linalg.norm(e1, axis=1) <= np.median(np.linalg.norm(e1, axis=1))
    if small.sum() >= 3:  # large first steps (random walks) may already yield
        e1, s1 = e1[small], s1[small]
    sol, *_ = np.linalg.lstsq(e1, s1, rcond=None)
    C = 0.5 * (sol.T + sol)
    nu = float(np.clip(C[0, 1] / max(C[0, 0] + C[0, 1], 1e-300), 0.0, 0.49))
    P = _mises_matrix(nu)
    e, sg = strain.reshape(-1, 3), stress.reshape(-1, 3)
    q = np.sqrt(np.maximum(np.einsum("ni,ij,nj->n", sg, P, sg), 0.0))
    off = np.linalg.norm(sg - e @ C.T, axis=1) > 0.05 * np.linalg.norm(sg, axis=1)
    s = float(np.percentile(q[~off], 95)) if (~off).sum() >= 10 else float(np.median(q))
    if components == 4:  # with σ_zz: isotropic C from (λ, G) of the fit, von Mises on 4 components
        lam, G = 0.5 * (C[0, 1] + C[1, 0]), C[2, 2]
        m = np.array([1.0, 1.0, 1.0, 0.0])
        C = lam * np.outer(m, m) + G * np.diag([2.0, 2.0, 2.0, 1.0])
        P = 1.5 * np.array([[2 / 3, -1 / 3, -1 / 3, 0], [-1 / 3, 2 / 3, -1 / 3, 0], [-1 / 3, -1 / 3, 2 / 3, 0], [0, 0, 0, 2.0]])
    return C, max(s, 1e-30), P


def train_return_mapping(data: Any, epochs: int = 200, lr: float = 2e-2, val_fraction: float = 0.2,
                         seed: int = 0, patience: int = 50, threads: int | None = 1, components: int | None = None,
                         progress: Callable[[dict], None] | None = None,
                         lbfgs_iterations: int = 60, isotropic: bool = False,
                         yield_form: str = "additive", model: ReturnMappingModel | None = None,
                         input_strain: np.ndarray | None = None,
                         stress_metric: np.ndarray | None = None) -> tuple[ReturnMappingModel, dict[str, Any]]:
    """Fit a :class:`ReturnMappingModel` to a path data set (learned.paths.PathDataset).

    Loss: mean over paths, steps and components of ((σ_model − σ_data) / std_j(σ_data))², the
    model run from the virgin state along each observed strain path (BPTT through the return
    mappings, implicit differentiation at each). Full-batch Adam; the validation paths
    (``val_fraction`` of them, chosen by ``seed``) select the best epoch (early stopping).
    ``components``: 4 (default in plane strain: the state holds εᵖ_zz and the model σ_zz, so
    plane-strain J2 / Drucker–Prager are in the model family) or 3 (in-plane only; plane stress).
    ``lbfgs_iterations`` > 0: after Adam, full-batch L-BFGS (strong Wolfe line search) on the
    same loss from the best Adam epoch, kept only if the validation loss improves. The model
    has a few tens of parameters, so a quasi-Newton method converges where Adam crawls
    (J2, 1000 samples: new-path error 1.6 % after 30 Adam epochs, 0.23 % after 10 Adam epochs
    and 69 L-BFGS evaluations, in 140 s).
    ``isotropic``: the yield surface restricted to isotropic pressure-dependent forms (three
    parameters: von Mises weight a, p² weight c, pressure slope β; see ReturnMappingModel), for
    materials known to be isotropic (soils, rocks at the sample scale).
    ``yield_form``: "additive" (default, the form of the shipped checkpoints: its hardening
    curve is slightly nonlinear, 0.8 % stress error on the footing's J2 paths with the exact
    elastic and yield parameters) or "scaled" (the apex rounding grows with the yield radius,
    so linear isotropic hardening — J2's — is in the family exactly; at 1e3 footing samples it
    gave a larger residual error, 3.2 % vs 1.6 %: docs/plasticity.md).
    ``model``: start from a copy of this model instead of the initial guess (``isotropic`` and
    ``yield_form`` are then the model's). ``input_strain`` (P,M,3): the strain paths the model
    is driven along (default the data's; projection training passes the projections e*).
    ``stress_metric`` W (3,3) SPD [1/Pa²]: the loss is mean ½ rᵀWr over paths and steps,
    r = σ_model − σ_data, instead of the per-component standardised squares.
    Returns the model and a report (losses, relative errors, parameters found).
    """
    from learned.training import cpu_threads

    strain = np.asarray(data.strain, dtype=float)
    stress = np.asarray(data.stress, dtype=float)
    if strain.ndim != 3 or strain.shape[0] < 2:
        raise ValueError("path training needs a path data set with at least 2 paths")
    rng = np.random.default_rng(seed)
    order = rng.permutation(strain.shape[0])
    n_val = int(round(val_fraction * strain.shape[0])) if val_fraction > 0 else 0
    val, tr = order[:n_val], order[n_val:]
    torch.manual_seed(seed)
    components = components or (4 if data.plane == "strain" else 3)
    if components == 4 and data.plane != "strain":
        raise ValueError("components = 4 (with σ_zz) needs plane-strain data")
    start_given = model is not None
    if model is None:
        C0, s0, P0 = initial_guess(strain[tr], stress[tr], components)
        if isotropic and components != 4:
            raise ValueError("isotropic = True needs components = 4 (plane-strain data)")
        model = ReturnMappingModel(C0, s0, yield_matrix=P0, isotropic=isotropic, yield_form=yield_form)
    else:
        model = copy.deepcopy(model).to(dtype=torch.float64)
        for p in model.parameters():
            p.requires_grad_(True)
    model.meta = {"plane": data.plane, "provenance": dict(data.provenance)}
    if input_strain is not None:
        input_strain = np.asarray(input_strain, dtype=float)
        if input_strain.shape != strain.shape:
            raise ValueError(f"input_strain must have the data's shape {strain.shape}, got {input_strain.shape}")
        strain = input_strain
    e_t = torch.as_tensor(strain)
    s_t = torch.as_tensor(stress)
    std = s_t.reshape(-1, 3).std(0).clamp_min(1e-30)
    W = None if stress_metric is None else torch.as_tensor(np.asarray(stress_metric, dtype=float))

    def loss_on(idx: np.ndarray) -> Tensor:
        pred = model.run_paths(e_t[idx])
        if W is not None:
            r = pred - s_t[idx]
            return 0.5 * ((r @ W) * r).sum(-1).mean()
        return (((pred - s_t[idx]) / std) ** 2).mean()

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    best, best_state, since = math.inf, copy.deepcopy(model.state_dict()), 0
    if start_given:  # a refinement keeps the starting model unless validation improves on it
        with torch.no_grad(), cpu_threads(threads):
            best = float(loss_on(val)) if n_val else float(loss_on(tr))
    with cpu_threads(threads):
        for epoch in range(1, epochs + 1):
            opt.zero_grad()
            loss = loss_on(tr)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss is not finite at epoch {epoch}")
            loss.backward()
            opt.step()
            with torch.no_grad():
                v = float(loss_on(val)) if n_val else float(loss)
            history.append({"epoch": epoch, "train_loss": float(loss.detach()), "val_loss": v})
            if progress:
                progress(history[-1])
            if v < best:
                best, best_state, since = v, copy.deepcopy(model.state_dict()), 0
            else:
                since += 1
                if since >= patience:
                    break
    model.load_state_dict(best_state)
    lbfgs_evaluations = 0
    if lbfgs_iterations > 0:
        opt2 = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=lbfgs_iterations, history_size=20,
                                 line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)

        def closure() -> Tensor:
            nonlocal lbfgs_evaluations
            opt2.zero_grad()
            value = loss_on(tr)
            if not torch.isfinite(value):
                raise FloatingPointError("training loss is not finite in the L-BFGS refinement")
            value.backward()
            lbfgs_evaluations += 1
            return value

        with cpu_threads(threads):
            opt2.step(closure)
            with torch.no_grad():
                v = float(loss_on(val)) if n_val else float(loss_on(tr))
        if v < best:
            best, best_state = v, copy.deepcopy(model.state_dict())
        model.load_state_dict(best_state)
    with torch.no_grad():
        pred = model.run_paths(e_t).numpy()

    def rel(idx: np.ndarray) -> float:
        if len(idx) == 0:
            return float("nan")
        return float(np.linalg.norm(pred[idx] - stress[idx]) / np.linalg.norm(stress[idx]))

    best_epoch = min(history, key=lambda h: h["val_loss"])["epoch"] if history else 0
    report = {
        "kind": "constitutive",
        "model": model.config,
        "epochs_run": len(history),
        "lbfgs_evaluations": lbfgs_evaluations,
        "train_loss": [h["train_loss"] for h in history],
        "val_loss": [h["val_loss"] for h in history] if n_val else [],
        "best_epoch": best_epoch,
        "history": history,
        "metrics": {"train_rel_error": rel(tr), "val_rel_error": rel(val), "best_val_loss": best},
        "parameters": {
            "stiffness": model.stiffness().detach().tolist(),
            "hardening": float(model.hardening().detach()),
            "yield_matrix": model.yield_matrix().detach().tolist(),
            "yield_linear": model.yield_linear().detach().tolist(),
            "stress_scale": float(model.s),
        },
        "data": {"paths": int(strain.shape[0]), "steps": int(strain.shape[1]), "provenance": data.provenance},
    }
    return model, report
